package normalize

import (
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// StatusOf returns the polling status a Smartcar error reported for a
// vehicle puts it in, and false for an error that leaves the status as it
// is: needs_reauth when its user must connect again (e.NeedsReauth),
// disabled when polling cannot succeed until an operator acts (PERMISSION,
// COMPATIBILITY, BILLING other than the monthly quota), nothing for errors
// that pass by themselves (an asleep or unreachable vehicle, rate limits,
// upstream and server faults, a spent monthly quota).
func StatusOf(e *smartcar.Error) (events.Status, bool) {
	switch {
	case e == nil:
		return "", false
	case e.NeedsReauth():
		return events.StatusNeedsReauth, true
	}
	switch e.Type {
	case smartcar.TypeBilling:
		if e.QuotaExhausted() {
			return "", false
		}
		return events.StatusDisabled, true
	case smartcar.TypePermission, smartcar.TypeCompatibility:
		return events.StatusDisabled, true
	}
	return "", false
}
