package kvregistry

import (
	"strconv"
	"testing"
)

func TestKeyIndex(t *testing.T) {
	var x keyIndex
	if _, ok := x.find("a"); ok {
		t.Fatal("empty index finds a key")
	}
	const n = 10_000
	x.grow(n / 2) // then past it: rehashes with keys in place
	for i := range n {
		k := strconv.Itoa(i)
		if _, ok := x.find(k); ok {
			t.Fatalf("finds %s before adding it", k)
		}
		if got := x.add(k); got != uint32(i) {
			t.Fatalf("add(%s) = %d, want %d", k, got, i)
		}
	}
	if x.len() != n {
		t.Fatalf("len = %d, want %d", x.len(), n)
	}
	for i := range n {
		if got, ok := x.find(strconv.Itoa(i)); !ok || got != uint32(i) {
			t.Fatalf("find(%d) = %d, %v", i, got, ok)
		}
	}
	if _, ok := x.find("x"); ok {
		t.Fatal("finds a key never added")
	}
	if len(x.slots)*3 < x.len()*4 {
		t.Fatalf("table %d slots for %d keys: over three quarters full", len(x.slots), x.len())
	}
}
