package normalize

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Previous returns the data of the vehicle's latest event of signal s (ok
// false when there is none), to complete a composed signal that a delivery
// carries only part of. An error fails the normalization: retry it.
type Previous func(s events.Signal) (ev events.Event, ok bool, err error)

// Result is what a set of v3 signals gives: the items to publish, and the
// signals that give none.
type Result struct {
	Items    []Item
	Rejected []Rejected
}

// Rejected is a v3 signal that is not published: Err is its own error (a
// signal with status ERROR: the vehicle could not provide it), or why its
// body was refused (malformed, an unknown unit, a value out of range).
type Rejected struct {
	Code string
	Err  error
}

// FromSignals normalizes a vehicle's API v3 signals (GET /signals): its
// info from the included vehicle, each daemon signal composed of its codes
// (see the package doc for signals only partly present; prev may be nil),
// and every other code as a generic signal event.
func FromSignals(s *smartcar.Signals, prev Previous) (Result, error) {
	var r Result
	if s.Vehicle != nil {
		it, err := FromVehicle(*s.Vehicle)
		if err != nil {
			r.Rejected = append(r.Rejected, Rejected{Code: "vehicle", Err: err})
		} else {
			r.Items = append(r.Items, it)
		}
	}
	if err := fromSignals(&r, s.Items, prev); err != nil {
		return Result{}, err
	}
	return r, nil
}

// FromWebhook normalizes the signals of a VEHICLE_STATE webhook like
// FromSignals (the vehicle it names is not an info event).
func FromWebhook(ev *smartcar.WebhookEvent, prev Previous) (Result, error) {
	if ev.Type != smartcar.WebhookVehicleState {
		return Result{}, fmt.Errorf("normalize webhook: event type %q has no signals", ev.Type)
	}
	var r Result
	if err := fromSignals(&r, ev.Signals, prev); err != nil {
		return Result{}, err
	}
	return r, nil
}

// FromVehicle normalizes a vehicle's attributes (API v3 vehicle resource).
func FromVehicle(v smartcar.Info) (Item, error) {
	d := events.InfoData{Make: v.Make, Model: v.Model, Year: v.Year}
	if err := Check(d); err != nil {
		return Item{}, fmt.Errorf("normalize vehicle: %w", err)
	}
	return Item{Signal: events.SignalInfo, Data: d, Key: primaryPath[events.SignalInfo]}, nil
}

// read is one signal of a delivery, read.
type read struct {
	sig   *smartcar.Signal
	value any  // the reader's value; nil for a code without a reader
	used  bool // part of an item
}

func fromSignals(r *Result, sigs []smartcar.Signal, prev Previous) error {
	// The reads in delivery order, in one allocation sized for the delivery
	// (it never grows, so the pointers into it stay valid), and every code
	// seen by code: nil for one that gives no read.
	all := make([]read, 0, len(sigs))
	reads := make(map[string]*read, len(sigs))
	r.Items = slices.Grow(r.Items, len(sigs)) // at most one item per signal
	for i := range sigs {
		s := &sigs[i]
		_, dup := reads[s.Code]
		if !dup {
			reads[s.Code] = nil
		}
		switch {
		case dup:
			r.Rejected = append(r.Rejected, Rejected{Code: s.Code, Err: errors.New("signal sent twice: the first is kept")})
			continue
		case s.Err != nil:
			r.Rejected = append(r.Rejected, Rejected{Code: s.Code, Err: s.Err})
			continue
		case s.Status != smartcar.SignalSuccess:
			r.Rejected = append(r.Rejected, Rejected{Code: s.Code, Err: fmt.Errorf("status %q", s.Status)})
			continue
		}
		var value any
		if f := readers[s.Code]; f != nil {
			v, err := f(s)
			if err != nil {
				r.Rejected = append(r.Rejected, Rejected{Code: s.Code, Err: fmt.Errorf("signal %s: %w", s.Code, err)})
				continue
			}
			value = v
		}
		all = append(all, read{sig: s, value: value})
		reads[s.Code] = &all[len(all)-1]
	}
	for _, c := range composites {
		it, ok, err := c.compose(reads, prev)
		if err != nil {
			return err
		}
		if ok {
			r.Items = append(r.Items, it)
		}
	}
	for i := range all {
		rd := &all[i]
		if rd.used {
			continue
		}
		code := rd.sig.Code
		it, err := generic(rd.sig)
		if err != nil {
			r.Rejected = append(r.Rejected, Rejected{Code: code, Err: fmt.Errorf("signal %s: %w", code, err)})
			continue
		}
		r.Items = append(r.Items, it)
	}
	return nil
}

// composer makes one daemon signal's item from the signals of a delivery.
type composer interface {
	compose(reads map[string]*read, prev Previous) (Item, bool, error)
}

// composite is a daemon signal of data type T made of slots, each filled by
// the first of its codes the delivery has.
type composite[T events.Data] struct {
	signal events.Signal
	slots  []slot[T]
}

type slot[T any] struct {
	codes    []string
	required bool
	set      func(d *T, v any)
}

// compose fills the slots the delivery has. When a required one is missing
// it starts from the previous event of the signal instead of empty data (the
// delivery's parts replace its values, the others keep them); without one
// there is no item and the parts found stay unused (they go out as generic
// signal events unless another composite uses them). Optional parts a
// complete delivery lacks are left out.
func (c composite[T]) compose(reads map[string]*read, prev Previous) (Item, bool, error) {
	type fill struct {
		slot *slot[T]
		rd   *read
	}
	var room [3]fill // the most slots a composite has
	fills := room[:0]
	complete := true
	for i := range c.slots {
		sl := &c.slots[i]
		var found *read
		for _, code := range sl.codes {
			if rd := reads[code]; rd != nil {
				found = rd
				break
			}
		}
		switch {
		case found != nil:
			fills = append(fills, fill{sl, found})
		case sl.required:
			complete = false
		}
	}
	if len(fills) == 0 {
		return Item{}, false, nil
	}
	var d T
	if !complete {
		if prev == nil {
			return Item{}, false, nil
		}
		ev, ok, err := prev(c.signal)
		if err != nil {
			return Item{}, false, fmt.Errorf("previous %s event: %w", c.signal, err)
		}
		if !ok || ev.DecodeData(&d) != nil {
			return Item{}, false, nil
		}
	}
	it := Item{Signal: c.signal, Key: string(c.signal)}
	if p, ok := primaryPath[c.signal]; ok {
		it.Key = p
	}
	for _, f := range fills {
		f.slot.set(&d, f.rd.value)
		it.Time = later(it.Time, f.rd.sig.OEMUpdatedAt)
		it.FetchedAt = later(it.FetchedAt, f.rd.sig.RetrievedAt)
	}
	data := events.Data(d) // boxed once, for Check and the item
	if err := Check(data); err != nil {
		// Only the previous event can be at fault: the parts were checked.
		return Item{}, false, nil
	}
	for _, f := range fills {
		f.rd.used = true
	}
	// Every code of the signal is spoken for, the ones a better slot
	// alternative replaced (charge-ischarging beside the detailed status).
	for _, sl := range c.slots {
		for _, code := range sl.codes {
			if rd := reads[code]; rd != nil {
				rd.used = true
			}
		}
	}
	it.Data = data
	return it, true, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b.UTC()
	}
	return a
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

// one is a composite of a single code.
func one[T events.Data](s events.Signal, code string, set func(d *T, v any)) composer {
	return composite[T]{signal: s, slots: []slot[T]{{codes: []string{code}, required: true, set: set}}}
}

// composites are the daemon signals made of v3 codes (Table), in table order.
var composites = []composer{
	one(events.SignalVIN, smartcar.SignalVIN, func(d *events.VINData, v any) { d.VIN = v.(string) }),
	one(events.SignalOdometer, smartcar.SignalOdometer, func(d *events.OdometerData, v any) { d.DistanceKm = v.(float64) }),
	one(events.SignalLocation, smartcar.SignalLocation, func(d *events.LocationData, v any) { *d = v.(events.LocationData) }),
	composite[events.BatteryData]{signal: events.SignalBattery, slots: []slot[events.BatteryData]{
		{[]string{smartcar.SignalStateOfCharge}, true, func(d *events.BatteryData, v any) { d.PercentRemaining = v.(float64) }},
		{[]string{smartcar.SignalBatteryRange}, true, func(d *events.BatteryData, v any) { d.RangeKm = v.(float64) }},
	}},
	one(events.SignalBatteryCapacity, smartcar.SignalNominalCapacity, func(d *events.BatteryCapacityData, v any) {
		n := v.(float64)
		d.NominalKWh = &n
	}),
	composite[events.ChargeData]{signal: events.SignalCharge, slots: []slot[events.ChargeData]{
		{[]string{smartcar.SignalDetailedChargingStatus, smartcar.SignalIsCharging}, true, func(d *events.ChargeData, v any) {
			switch v := v.(type) {
			case string:
				d.State = v
			case chargeState:
				d.State = string(v)
			}
		}},
		{[]string{smartcar.SignalIsChargingCable}, true, func(d *events.ChargeData, v any) { d.IsPluggedIn = v.(bool) }},
	}},
	one(events.SignalChargeLimit, smartcar.SignalChargeLimits, func(d *events.ChargeLimitData, v any) { d.Limit = v.(float64) }),
	composite[events.FuelData]{signal: events.SignalFuel, slots: []slot[events.FuelData]{
		{[]string{smartcar.SignalFuelLevel}, true, func(d *events.FuelData, v any) { d.PercentRemaining = v.(float64) }},
		{[]string{smartcar.SignalFuelAmount}, true, func(d *events.FuelData, v any) { d.AmountRemainingL = v.(float64) }},
		{[]string{smartcar.SignalFuelRange}, true, func(d *events.FuelData, v any) { d.RangeKm = v.(float64) }},
	}},
	one(events.SignalTirePressure, smartcar.SignalTires, func(d *events.TirePressureData, v any) { *d = v.(events.TirePressureData) }),
	one(events.SignalEngineOil, smartcar.SignalOilLife, func(d *events.EngineOilData, v any) { d.LifeRemaining = v.(float64) }),
	composite[events.LockStatusData]{signal: events.SignalLockStatus, slots: []slot[events.LockStatusData]{
		{[]string{smartcar.SignalIsLocked}, true, func(d *events.LockStatusData, v any) { d.IsLocked = v.(bool) }},
		{[]string{smartcar.SignalDoors}, false, func(d *events.LockStatusData, v any) { d.Doors = v.(closures).openings() }},
		{[]string{smartcar.SignalWindows}, false, func(d *events.LockStatusData, v any) { d.Windows = v.(closures).openings() }},
	}},
	composite[events.ConnectivityData]{signal: events.SignalConnectivity, slots: []slot[events.ConnectivityData]{
		{[]string{smartcar.SignalIsOnline}, true, func(d *events.ConnectivityData, v any) { d.IsOnline = v.(bool) }},
		{[]string{smartcar.SignalIsAsleep}, false, func(d *events.ConnectivityData, v any) {
			b := v.(bool)
			d.IsAsleep = &b
		}},
	}},
	one(events.SignalDoors, smartcar.SignalDoors, func(d *events.DoorsData, v any) {
		c := v.(closures)
		*d = events.DoorsData{Doors: c.list, RowCount: c.rows, ColumnCount: c.columns}
	}),
	one(events.SignalWindows, smartcar.SignalWindows, func(d *events.WindowsData, v any) {
		c := v.(closures)
		*d = events.WindowsData{Windows: c.list, RowCount: c.rows, ColumnCount: c.columns}
	}),
}
