"""Use cases across domains, one module a flow: a launch (`launch`), the next step
(`next_steps`), an answer and its grade (`grades`), the people directory (`people`) and
secret rotation (`secrets`).

Each one joins the LTI protocol, the xAPI side and the adaptive engine in one
transaction that its caller (a view or a CLI command) owns; none of those packages
may reach across to another's tables on its own.
"""
