package smartcartest

import (
	"math"
	"strconv"
	"strings"
)

// units is the unit system of a response.
type units uint8

const (
	metric units = iota
	imperial
)

// Conversion factors for imperial responses.
const (
	kmPerMile       = 1.609344
	litresPerGallon = 3.785411784
	kPaPerPSI       = 6.894757293168361
)

// parseUnits reads an SC-Unit-System value; empty means metric.
func parseUnits(v string) (units, bool) {
	switch {
	case v == "" || strings.EqualFold(v, "metric"):
		return metric, true
	case strings.EqualFold(v, "imperial"):
		return imperial, true
	}
	return metric, false
}

func (u units) distance(km float64) float64 {
	if u == imperial {
		return km / kmPerMile
	}
	return km
}

func (u units) volume(litres float64) float64 {
	if u == imperial {
		return litres / litresPerGallon
	}
	return litres
}

func (u units) pressure(kPa float64) float64 {
	if u == imperial {
		return kPa / kPaPerPSI
	}
	return kPa
}

// appendNum appends v rounded to digits decimals in its shortest form.
func appendNum(b []byte, v float64, digits int) []byte {
	p := math.Pow10(digits)
	return strconv.AppendFloat(b, math.Round(v*p)/p, 'f', -1, 64)
}
