package daemon

import (
	"net/http"
	"testing"
)

func TestSmartcarTransport(t *testing.T) {
	for _, tt := range []struct{ concurrency, idlePerHost, idle int }{
		{64, 64, 100},
		{2000, 2000, 2000},
		{0, 2, 100},
	} {
		tr := smartcarTransport(tt.concurrency)
		if tr.MaxIdleConnsPerHost != tt.idlePerHost || tr.MaxIdleConns != tt.idle {
			t.Errorf("concurrency %d: idle per host %d, idle %d; want %d and %d",
				tt.concurrency, tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tt.idlePerHost, tt.idle)
		}
		if !tr.ForceAttemptHTTP2 || tr.Proxy == nil || tr.TLSHandshakeTimeout == 0 {
			t.Errorf("concurrency %d: lost http.DefaultTransport's settings (HTTP/2 %v, proxy set %v, TLS timeout %v)",
				tt.concurrency, tr.ForceAttemptHTTP2, tr.Proxy != nil, tr.TLSHandshakeTimeout)
		}
		if tr == http.DefaultTransport {
			t.Error("the shared default transport was changed")
		}
	}
}
