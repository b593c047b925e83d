"""The TA staff web console, served under `/console` by the runtime's one web server.

Staff sign in with one-time links (`auth`), every page carries strict security headers and
every form a CSRF token (`security`), and every action on the queue goes through
`bot.triage.workflow.Triage`, exactly as the chat platforms and the CLI do.
"""
