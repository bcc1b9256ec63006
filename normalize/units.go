package normalize

import (
	"fmt"
	"strings"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// The conversions of every source are package smartcar's
// (smartcar.ScalarBody): a v2 value is a scalar in the unit its unit system
// implies, a v3 body says its unit.

func kilometers(unit string, v float64) (float64, error) {
	km, err := smartcar.ScalarBody{Unit: unit, Value: v}.Kilometers()
	if err != nil {
		return 0, fmt.Errorf("distance: %w", err)
	}
	return km, nil
}

func liters(unit string, v float64) (float64, error) {
	l, err := smartcar.ScalarBody{Unit: unit, Value: v}.Liters()
	if err != nil {
		return 0, fmt.Errorf("volume: %w", err)
	}
	return l, nil
}

func kilopascals(unit string, v float64) (float64, error) {
	p, err := smartcar.ScalarBody{Unit: unit, Value: v}.Kilopascals()
	if err != nil {
		return 0, fmt.Errorf("pressure: %w", err)
	}
	return p, nil
}

// fraction returns a v3 percentage (0-100) as the fraction (0-1) events
// carry, like v2's percentRemaining.
func fraction(b smartcar.ScalarBody) (float64, error) {
	f, err := b.Fraction()
	if err != nil {
		return 0, fmt.Errorf("percentage: %w", err)
	}
	return f, nil
}

// kilowattHours returns an energy in kWh.
func kilowattHours(b smartcar.ScalarBody) (float64, error) {
	switch strings.ToLower(b.Unit) {
	case "kilowatthours", "kwh", "kilowatt-hours":
		return b.Value, nil
	case "watthours", "wh":
		return b.Value / 1000, nil
	}
	return 0, fmt.Errorf("energy: unit %q is not kilowattHours", b.Unit)
}
