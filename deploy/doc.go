// Package deploy holds what runs smartcar-poller in Kubernetes: the
// Dockerfile, the Kustomize base and overlays, the Grafana dashboard, and the
// checked-in render of the manifests (rendered/). It has no Go API: its tests
// render the manifests with kustomize (as a library) and check them against
// the daemon's configuration, metrics and security rules.
//
// It is a module of its own (go.mod here), so that kustomize and the
// Kubernetes OpenAPI modules it needs are not requirements of the main
// module: run its tests from this directory. Regenerate rendered/ after
// changing a manifest:
//
//	cd deploy && go test -run TestRender -update
package deploy
