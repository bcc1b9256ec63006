// Package deploy holds what runs smartcar-poller in Kubernetes: the
// Dockerfile, the Kustomize base and overlays, the Grafana dashboard, and the
// checked-in render of the manifests (rendered/). It has no Go API: its tests
// render the manifests with kustomize (as a library) and check them against
// the daemon's configuration, metrics and security rules.
//
// Regenerate rendered/ after changing a manifest:
//
//	go test ./deploy -run TestRender -update
package deploy
