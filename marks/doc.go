// Package marks owns the onboarding's single-use records: Connect states
// (a /connect started, consumed once by /callback) and the eventIds of
// webhook deliveries already seen (Smartcar retries and reorders them), each
// kept for a TTL. onboard consumes them through its own small interface.
// It must not know vehicles, grants, HTTP or events.
//
// Its two backends live here side by side, each a few dozen lines on top
// of its server, tested by one suite (marks_test.go):
//
//	Redis  <prefix>connect_state:<state>, <prefix>webhook_event:<id>: SET NX with the TTL
//	KV     bucket <PREFIX>_MARKS, keys state.<state> and event.<id>, values
//	       {expires_at}; created on first use, its MaxAge raised to the
//	       longest TTL asked for (at least an hour, at most MaxTTL)
package marks
