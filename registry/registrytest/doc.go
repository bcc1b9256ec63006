// Package registrytest is the conformance suite of registry.Store (like
// River's riverdrivertest): every backend runs Run against a real server,
// so consumers can rely on one contract whichever backend they get. It must
// not know any backend.
package registrytest
