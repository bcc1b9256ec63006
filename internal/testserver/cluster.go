package testserver

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// NATSCluster is a cluster of in-process NATS servers with JetStream, owned
// by one test.
type NATSCluster struct {
	// Servers are the nodes, named n0, n1, ...; a stopped node stays in the list.
	Servers []*natsserver.Server
}

// StartNATSCluster starts n clustered NATS servers with JetStream on free
// ports, each storing under its own temporary directory, and waits until
// JetStream has a meta leader that sees every node. The servers stop when the
// test ends.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("nats cluster of %d servers", n)
	}
	routePorts := make([]int, n)
	routes := make([]string, n)
	for i := range n {
		routePorts[i] = FreePort(t)
		routes[i] = fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i])
	}
	name := Unique("c")
	c := &NATSCluster{}
	t.Cleanup(c.shutdown)
	for i := range n {
		s, err := natsserver.NewServer(&natsserver.Options{
			ServerName: fmt.Sprintf("n%d", i),
			Host:       "127.0.0.1",
			Port:       natsserver.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster:    natsserver.ClusterOpts{Name: name, Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     natsserver.RoutesFromStr(strings.Join(routes, ",")),
			NoLog:      true,
			NoSigs:     true,
		})
		if err != nil {
			t.Fatalf("nats cluster node %d: %v", i, err)
		}
		s.Start()
		c.Servers = append(c.Servers, s)
	}
	for _, s := range c.Servers {
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats cluster node %s: not ready after 10s", s.Name())
		}
	}
	if err := c.WaitReady(30*time.Second, n); err != nil {
		t.Fatal(err)
	}
	return c
}

// URLs returns the client URL of every running node.
func (c *NATSCluster) URLs() []string {
	var out []string
	for _, s := range c.Servers {
		if s.Running() {
			out = append(out, s.ClientURL())
		}
	}
	return out
}

// Server returns the node named name, nil if there is none.
func (c *NATSCluster) Server(name string) *natsserver.Server {
	i := slices.IndexFunc(c.Servers, func(s *natsserver.Server) bool { return s.Name() == name })
	if i < 0 {
		return nil
	}
	return c.Servers[i]
}

// Leader returns the JetStream meta leader, nil while there is none.
func (c *NATSCluster) Leader() *natsserver.Server {
	for _, s := range c.Servers {
		if s.Running() && s.JetStreamIsLeader() {
			return s
		}
	}
	return nil
}

// WaitReady waits until a meta leader sees peers JetStream nodes and every
// running node is current with it.
func (c *NATSCluster) WaitReady(timeout time.Duration, peers int) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != nil && len(l.JetStreamClusterPeers()) == peers && c.allCurrent() {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nats cluster: no JetStream meta leader with %d current peers after %s", peers, timeout)
}

func (c *NATSCluster) allCurrent() bool {
	for _, s := range c.Servers {
		if s.Running() && !s.JetStreamIsCurrent() {
			return false
		}
	}
	return true
}

// Stop shuts the node down and waits for it; the others keep running.
func (c *NATSCluster) Stop(s *natsserver.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}

func (c *NATSCluster) shutdown() {
	for _, s := range c.Servers {
		s.Shutdown()
	}
	for _, s := range c.Servers {
		s.WaitForShutdown()
	}
}
