package onboard

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// The v4 webhook signals mapped to our normalized events. Codes not listed
// are ignored (and counted in Stats.UnknownSignals).
//
//	odometer-traveleddistance            odometer.distance_km (miles converted)
//	location-preciselocation             location.latitude, location.longitude
//	tractionbattery-stateofcharge        battery.percent_remaining (percent / 100)
//	tractionbattery-range                battery.range_km (miles converted)
//	internalcombustionengine-fuellevel   fuel.percent_remaining (percent / 100)
//	internalcombustionengine-range       fuel.range_km (miles converted)
//
// Battery and fuel events need every field: one the webhook lacks (a state
// of charge without a range) is taken from the vehicle's latest event of
// that signal, or is 0 when there is none.
type signalMapping struct {
	signal events.Signal
	path   string // the Smartcar path polling uses for the signal
	apply  func(b signalBody, d any) bool
}

var signalMappings = map[string]signalMapping{
	"odometer-traveleddistance": {events.SignalOdometer, "/odometer", func(b signalBody, d any) bool {
		v, ok := b.km()
		d.(*events.OdometerData).DistanceKm = v
		return ok
	}},
	"location-preciselocation": {events.SignalLocation, "/location", func(b signalBody, d any) bool {
		if b.Latitude == nil || b.Longitude == nil {
			return false
		}
		l := d.(*events.LocationData)
		l.Latitude, l.Longitude = *b.Latitude, *b.Longitude
		return true
	}},
	"tractionbattery-stateofcharge": {events.SignalBattery, "/battery", func(b signalBody, d any) bool {
		v, ok := b.fraction()
		d.(*events.BatteryData).PercentRemaining = v
		return ok
	}},
	"tractionbattery-range": {events.SignalBattery, "/battery", func(b signalBody, d any) bool {
		v, ok := b.km()
		d.(*events.BatteryData).RangeKm = v
		return ok
	}},
	"internalcombustionengine-fuellevel": {events.SignalFuel, "/fuel", func(b signalBody, d any) bool {
		v, ok := b.fraction()
		d.(*events.FuelData).PercentRemaining = v
		return ok
	}},
	"internalcombustionengine-range": {events.SignalFuel, "/fuel", func(b signalBody, d any) bool {
		v, ok := b.km()
		d.(*events.FuelData).RangeKm = v
		return ok
	}},
}

// pathOfSignal returns the Smartcar path of a v4 signal code ("/" when unknown).
func pathOfSignal(code string) string {
	if m, ok := signalMappings[code]; ok {
		return m.path
	}
	return "/"
}

// wireSignal is one v4 signal of a VEHICLE_STATE webhook.
type wireSignal struct {
	Code string     `json:"code"`
	Body signalBody `json:"body"`
	Meta struct {
		RetrievedAt  int64 `json:"retrievedAt"`  // unix ms
		OEMUpdatedAt int64 `json:"oemUpdatedAt"` // unix ms
	} `json:"meta"`
}

// signalBody holds the fields of the bodies we map; Value is raw because
// some signals carry a boolean or a string there.
type signalBody struct {
	Value     json.RawMessage `json:"value"`
	Unit      string          `json:"unit"`
	Latitude  *float64        `json:"latitude"`
	Longitude *float64        `json:"longitude"`
}

// number returns Value when it is a number.
func (b signalBody) number() (float64, bool) {
	var v float64
	if len(b.Value) == 0 || json.Unmarshal(b.Value, &v) != nil {
		return 0, false
	}
	return v, true
}

func (b signalBody) km() (float64, bool) {
	v, ok := b.number()
	if !ok || v < 0 {
		return 0, false
	}
	switch strings.ToLower(b.Unit) {
	case "", "km", "kilometers", "kilometres":
		return v, true
	case "mi", "miles":
		return v * 1.609344, true
	}
	return 0, false
}

func (b signalBody) fraction() (float64, bool) {
	v, ok := b.number()
	if !ok || v < 0 || v > 100 {
		return 0, false
	}
	return v / 100, true
}

// newData returns a pointer to signal s's data, starting from the latest
// event of it when there is one.
func (h *Handler) newData(ctx context.Context, vehicleID string, s events.Signal) (any, error) {
	var d any
	switch s {
	case events.SignalOdometer:
		return &events.OdometerData{}, nil
	case events.SignalLocation:
		return &events.LocationData{}, nil
	case events.SignalBattery:
		d = &events.BatteryData{}
	case events.SignalFuel:
		d = &events.FuelData{}
	}
	if h.d.Latest == nil {
		return d, nil
	}
	ev, err := h.d.Latest.Get(ctx, vehicleID, s)
	if errors.Is(err, events.ErrNotFound) {
		return d, nil
	} else if err != nil {
		return nil, err
	}
	if err := ev.DecodeData(d); err != nil {
		return nil, err
	}
	return d, nil
}

// signalEvents turns a VEHICLE_STATE's signals into events: one per mapped
// signal, fields of one signal merged, ids derived from the eventId.
func (h *Handler) signalEvents(ctx context.Context, eventID, vehicleID string, signals []wireSignal, now time.Time) ([]events.Event, error) {
	type pending struct {
		data              any
		path              string
		dataAge, received time.Time
	}
	var order []events.Signal
	bySignal := map[events.Signal]*pending{}
	for _, sg := range signals {
		m, ok := signalMappings[sg.Code]
		if !ok {
			h.stats.unknownSignals.Add(1)
			continue
		}
		p := bySignal[m.signal]
		if p == nil {
			d, err := h.newData(ctx, vehicleID, m.signal)
			if err != nil {
				return nil, err
			}
			p = &pending{data: d, path: m.path}
		}
		if !m.apply(sg.Body, p.data) {
			h.stats.unknownSignals.Add(1)
			continue
		}
		if bySignal[m.signal] == nil {
			bySignal[m.signal] = p
			order = append(order, m.signal)
		}
		if t := msTime(sg.Meta.OEMUpdatedAt); t.After(p.dataAge) {
			p.dataAge = t
		}
		if t := msTime(sg.Meta.RetrievedAt); t.After(p.received) {
			p.received = t
		}
	}
	evs := make([]events.Event, 0, len(order))
	for _, s := range order {
		p := bySignal[s]
		raw, err := json.Marshal(p.data)
		if err != nil {
			return nil, err
		}
		fetched := p.received
		if fetched.IsZero() {
			fetched = now
		}
		ev, err := events.New(s, vehicleID, json.RawMessage(raw), events.Meta{
			ID: events.EventID("webhook/"+eventID, p.path), Source: h.cfg.Source, Time: p.dataAge, FetchedAt: fetched,
		})
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
