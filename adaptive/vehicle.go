package adaptive

import (
	"encoding/binary"
	"errors"
	"math"
)

// Vehicle is what the policy keeps of one vehicle between its polls:
// small (MarshalBinary makes EncodedSize bytes) because it lives in the
// registry for every vehicle of the fleet. The zero value is a vehicle
// never seen. Times are Unix seconds.
type Vehicle struct {
	// What the latest data showed.
	State    State
	Since    int64 // when State was first seen
	Seen     int64 // the latest poll or webhook
	Polled   int64 // the latest poll
	OEM      int64 // the newest oemUpdatedAt seen
	Stale    uint8 // polls in a row whose data did not move, unexplained by sleep
	flags    uint8
	Odometer float64 // km
	SoC      float32 // state of charge, 0 to 1
	Speed    uint8   // km/h while driving, measured
	Lat, Lon float64
	Home     [2]float32 // where it is parked at night (flagHome when known)
	Work     [2]float32 // where it is parked on weekdays (flagWork when known)
	WorkSeen [2]float32 // where it was last parked on a weekday at midday

	// What it expects.
	ChargeEnd int64 // predicted end of the current charge (0: none)
	Arrived   int64 // estimated time of the latest trip end
	Unplugged int64 // latest unplug a webhook reported
	TripStart int64 // estimated start of the current trip
	Zone      int8  // hours east of UTC, from the longitude

	// What it learned: when trips and charges start, by local hour of
	// weekdays (0-23) and weekend days (24-47), in sixteenths of an event,
	// over Exposure quarter days; and its mean trip in minutes.
	Departures [48]uint8
	Charges    [48]uint8
	Exposure   uint16
	TripMin    uint8
	// Steer is the share (in 1/10000) of the daily budget the learned week
	// may spend, steered by what the vehicle actually spends.
	Steer uint16

	// The month's spending: billed calls of polls and of everything else
	// (commands, retries), and the token bucket that spreads the polls.
	Month    int32 // year*12 + month - 1, UTC
	Polls    uint16
	Other    uint16
	Tokens   float32
	TokensAt int64
}

const (
	flagHome      uint8 = 1 << iota // Home is known
	flagPlugged                     // the cable is in
	flagHooks                       // webhooks report its charges
	flagExhausted                   // a 430 this Month
	flagElectric                    // it has a battery and a charge port
	flagWork                        // Work is known
	flagPending                     // plugged in below its limit, not charging
)

func (v *Vehicle) flag(f uint8) bool { return v.flags&f != 0 }

func (v *Vehicle) set(f uint8, on bool) {
	if on {
		v.flags |= f
	} else {
		v.flags &^= f
	}
}

// EncodedSize is the size of a Vehicle's binary form.
const EncodedSize = 1 + 1 + 4*8 + 1 + 1 + 4 + 1 + 3*8 + 6*4 + 4*8 + 1 + 48 + 48 + 2 + 1 + 2 + 4 + 2 + 2 + 4 + 8

// encodingVersion leads the binary form.
const encodingVersion = 1

// ErrEncoding is returned by UnmarshalBinary for data that is not a
// Vehicle's binary form.
var ErrEncoding = errors.New("adaptive: not an encoded vehicle")

// MarshalBinary encodes v in EncodedSize bytes.
func (v *Vehicle) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, EncodedSize)
	b = append(b, encodingVersion, byte(v.State))
	for _, t := range []int64{v.Since, v.Seen, v.Polled, v.OEM} {
		b = binary.LittleEndian.AppendUint64(b, uint64(t))
	}
	b = append(b, v.Stale, v.flags)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v.SoC))
	b = append(b, v.Speed)
	for _, f := range []float64{v.Odometer, v.Lat, v.Lon} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	for _, f := range []float32{v.Home[0], v.Home[1], v.Work[0], v.Work[1], v.WorkSeen[0], v.WorkSeen[1]} {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	for _, t := range []int64{v.ChargeEnd, v.Arrived, v.Unplugged, v.TripStart} {
		b = binary.LittleEndian.AppendUint64(b, uint64(t))
	}
	b = append(b, byte(v.Zone))
	b = append(b, v.Departures[:]...)
	b = append(b, v.Charges[:]...)
	b = binary.LittleEndian.AppendUint16(b, v.Exposure)
	b = append(b, v.TripMin)
	b = binary.LittleEndian.AppendUint16(b, v.Steer)
	b = binary.LittleEndian.AppendUint32(b, uint32(v.Month))
	b = binary.LittleEndian.AppendUint16(b, v.Polls)
	b = binary.LittleEndian.AppendUint16(b, v.Other)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v.Tokens))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.TokensAt))
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary made.
func (v *Vehicle) UnmarshalBinary(b []byte) error {
	if len(b) != EncodedSize || b[0] != encodingVersion {
		return ErrEncoding
	}
	r := reader{b: b[1:]}
	*v = Vehicle{State: State(r.byte())}
	v.Since, v.Seen, v.Polled, v.OEM = r.i64(), r.i64(), r.i64(), r.i64()
	v.Stale, v.flags = r.byte(), r.byte()
	v.SoC = math.Float32frombits(r.u32())
	v.Speed = r.byte()
	v.Odometer, v.Lat, v.Lon = r.f64(), r.f64(), r.f64()
	v.Home = [2]float32{r.f32(), r.f32()}
	v.Work = [2]float32{r.f32(), r.f32()}
	v.WorkSeen = [2]float32{r.f32(), r.f32()}
	v.ChargeEnd, v.Arrived, v.Unplugged, v.TripStart = r.i64(), r.i64(), r.i64(), r.i64()
	v.Zone = int8(r.byte())
	r.bytes(v.Departures[:])
	r.bytes(v.Charges[:])
	v.Exposure = r.u16()
	v.TripMin = r.byte()
	v.Steer = r.u16()
	v.Month = int32(r.u32())
	v.Polls, v.Other = r.u16(), r.u16()
	v.Tokens = math.Float32frombits(r.u32())
	v.TokensAt = r.i64()
	if v.State > Asleep {
		return ErrEncoding
	}
	return nil
}

// reader reads the binary form; the length is checked before.
type reader struct{ b []byte }

func (r *reader) byte() byte {
	x := r.b[0]
	r.b = r.b[1:]
	return x
}

func (r *reader) bytes(dst []byte) { r.b = r.b[copy(dst, r.b):] }

func (r *reader) u16() uint16 {
	x := binary.LittleEndian.Uint16(r.b)
	r.b = r.b[2:]
	return x
}

func (r *reader) u32() uint32 {
	x := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return x
}

func (r *reader) i64() int64 {
	x := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return int64(x)
}

func (r *reader) f64() float64 { return math.Float64frombits(uint64(r.i64())) }

func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }
