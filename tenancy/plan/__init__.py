"""The offline plan: any Pulumi Python program run under mocks that answer like AWS with a
recording monitor (`harness`), judged by a CrossGuard pack through the policy SDK's own analyzer
(`policy_runner`), summarised per tenant (`run`) and rendered as a table, JSON or markdown
(`render`). `all` plans every stack of an environment in parallel processes; `diff` compares two
plans of a stack and `base` plans a git change at both ends with it. No engine, no credentials."""
