package smartcartest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// idGen makes UUID-shaped ids from a seeded generator, so that the same seed
// and the same sequence of calls give the same ids.
type idGen struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newIDGen(seed int64, stream uint64) *idGen {
	return &idGen{rng: rand.New(rand.NewPCG(uint64(seed), stream))}
}

func (g *idGen) uuid() string {
	g.mu.Lock()
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	g.mu.Unlock()
	return formatUUID(hi, lo)
}

// formatUUID writes 128 bits as a version-4 style UUID.
func formatUUID(hi, lo uint64) string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[:8], hi)
	binary.BigEndian.PutUint64(raw[8:], lo)
	raw[6] = raw[6]&0x0f | 0x40
	raw[8] = raw[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], raw[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], raw[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], raw[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], raw[8:10])
	out[23] = '-'
	hex.Encode(out[24:], raw[10:])
	return string(out[:])
}

// requestIDs makes request ids cheaply: a seed-derived prefix and a counter.
type requestIDs struct {
	prefix uint64
	n      atomic.Uint64
}

func (r *requestIDs) next() string { return formatUUID(r.prefix, r.n.Add(1)) }

// fingerprint identifies a token in records without revealing it.
func fingerprint(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}
