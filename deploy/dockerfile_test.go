package deploy_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper-cased: FROM, RUN, ...
	args string
}

type stage struct {
	from, name string
	body       []instruction
}

// parseDockerfile splits a Dockerfile into its build stages.
func parseDockerfile(t *testing.T, path string) []stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		stages []stage
		line   string
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if line == "" && (s == "" || strings.HasPrefix(s, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(s, `\`); ok {
			line += cont + " "
			continue
		}
		line += s
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			fields := slices.DeleteFunc(strings.Fields(in.args), func(f string) bool { return strings.HasPrefix(f, "--") })
			st := stage{from: fields[0]}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before the first FROM", path, in.cmd)
		}
		stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// TestDockerfile checks the image is built in two stages: a static,
// trimmed binary of the command compiled with the module's Go version, copied
// alone onto distroless as nonroot, started with the config path the
// Deployment mounts.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, "Dockerfile")
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a builder and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]

	t.Run("builder", func(t *testing.T) {
		gomod, err := os.ReadFile(filepath.Join("..", "go.mod"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
		if m == nil {
			t.Fatal("go.mod has no go directive")
		}
		if want := "golang:" + string(m[1]); build.from != want {
			t.Errorf("builder FROM %s, want %s (go.mod's go %s)", build.from, want, m[1])
		}
		if build.name == "" {
			t.Error("builder stage has no name to copy from")
		}
		var goBuild string
		for _, in := range build.all("RUN") {
			if strings.Contains(in.args, "go build") {
				goBuild = in.args
			}
		}
		if goBuild == "" {
			t.Fatal("no RUN go build in the builder")
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w"`, "./cmd/smartcar-poller"} {
			if !strings.Contains(goBuild, want) {
				t.Errorf("go build %q lacks %s", goBuild, want)
			}
		}
		if _, err := os.Stat(filepath.Join("..", "cmd", "smartcar-poller", "main.go")); err != nil {
			t.Errorf("the built package: %v", err)
		}
	})

	t.Run("final", func(t *testing.T) {
		if want := "gcr.io/distroless/static-debian12:nonroot"; final.from != want {
			t.Errorf("final FROM %s, want %s", final.from, want)
		}
		copies := final.all("COPY")
		if len(copies) != 1 || !strings.HasPrefix(copies[0].args, "--from="+build.name+" ") {
			t.Errorf("final COPY = %+v, want the one binary from stage %s", copies, build.name)
		}
		if len(final.all("RUN")) > 0 {
			t.Error("final stage RUNs commands; distroless has no shell")
		}
		users := final.all("USER")
		if len(users) == 0 || !strings.HasPrefix(users[len(users)-1].args, "nonroot") {
			t.Errorf("final USER = %+v, want nonroot", users)
		}
	})

	t.Run("command", func(t *testing.T) {
		exec := func(cmd string) []string {
			ins := final.all(cmd)
			if len(ins) != 1 {
				t.Fatalf("%d %s instructions, want 1", len(ins), cmd)
			}
			var args []string
			if err := json.Unmarshal([]byte(ins[0].args), &args); err != nil {
				t.Fatalf("%s %s is not exec form (a JSON array; distroless has no shell): %v", cmd, ins[0].args, err)
			}
			return args
		}
		entry := exec("ENTRYPOINT")
		if len(entry) != 1 || !strings.HasSuffix(entry[0], "/smartcar-poller") {
			t.Errorf("ENTRYPOINT %q, want the binary", entry)
		}
		var d deployment
		render(t, "base").one(t, "Deployment", &d)
		if diff := cmp.Diff(d.Spec.Template.Spec.Containers[0].Args, exec("CMD")); diff != "" {
			t.Errorf("CMD differs from the Deployment's args (-deployment +CMD):\n%s", diff)
		}
	})
}
