package testserver

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// StartLoading starts the server again after Kill, on the same port and
// directory, and returns as soon as it answers PING, with PONG or with
// LOADING: unlike Restart it does not wait for the data to load, so a test
// can meet Redis replaying its AOF. It reports whether the server was still
// loading. Start the server with "--key-load-delay", "<µs per key>" (and
// "--loading-process-events-interval-bytes", "1024") to make loading last.
func (rs *RedisServer) StartLoading(t testing.TB) (loading bool) {
	t.Helper()
	rs.Kill()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	rs.cmd = exec.Command(bin, rs.Args...)
	if err := rs.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, err := ping(rs.Addr)
		switch {
		case err == nil && reply == "+PONG":
			return false
		case err == nil && strings.HasPrefix(reply, "-LOADING"):
			return true
		case time.Now().After(deadline):
			t.Fatalf("redis-server on %s not answering after 10s: %q, %v", rs.Addr, reply, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ping sends one PING on a fresh connection and returns the reply line.
func ping(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
