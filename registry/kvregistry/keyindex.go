package kvregistry

import "hash/maphash"

// keyIndex numbers strings densely (0, 1, 2, ... in the order added) and
// finds a string's number: an open-addressing hash table of numbers over
// the strings by number. It costs about 7 bytes per string (a uint32 slot,
// the table at most three quarters full) plus the string's header in keys,
// against about 50 for a Go map[string]uint32 of a million strings (24-byte
// slots, a table up to half empty). Strings are never removed: the mirrors
// keep deleted keys as tombstones, and reset drops the whole index.
type keyIndex struct {
	seed  maphash.Seed
	keys  []string // by number
	slots []uint32 // number+1, 0 when empty; its length a power of two
}

// find returns k's number.
func (x *keyIndex) find(k string) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, k) & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if x.keys[s-1] == k {
			return s - 1, true
		}
	}
}

// add numbers k, which find does not know, and keeps k itself (the caller
// decides whether it may share memory).
func (x *keyIndex) add(k string) uint32 {
	if (len(x.keys)+1)*4 > len(x.slots)*3 {
		x.rehash(max(16, 2*len(x.slots)))
	}
	n := uint32(len(x.keys))
	x.keys = append(x.keys, k)
	x.place(k, n+1)
	return n
}

// len returns how many strings are numbered.
func (x *keyIndex) len() int { return len(x.keys) }

// grow makes room for n more strings without rehashing.
func (x *keyIndex) grow(n int) {
	if n <= 0 {
		return
	}
	want := len(x.keys) + n
	if cap(x.keys) < want {
		keys := make([]string, len(x.keys), want)
		copy(keys, x.keys)
		x.keys = keys
	}
	size := max(16, len(x.slots))
	for want*4 > size*3 {
		size *= 2
	}
	if size > len(x.slots) {
		x.rehash(size)
	}
}

func (x *keyIndex) rehash(size int) {
	if len(x.slots) == 0 {
		x.seed = maphash.MakeSeed()
	}
	x.slots = make([]uint32, size)
	for n, k := range x.keys {
		x.place(k, uint32(n)+1)
	}
}

func (x *keyIndex) place(k string, slot uint32) {
	mask := uint64(len(x.slots) - 1)
	i := maphash.String(x.seed, k) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = slot
}
