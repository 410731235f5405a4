package portcheck

import (
	"net"
	"strings"
	"testing"
)

func TestFree_NamesTheSettingOfATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()

	tests := []struct {
		name string
		ls   []Listener
		want string // "" = no error
	}{
		{"all free", []Listener{{"--http", freeAddr}, {"--leaf", "127.0.0.1:0"}, {"--nats-listen", ""}, {"--x", "127.0.0.1:-1"}}, ""},
		{"taken", []Listener{{"--http", freeAddr}, {"--leaf", taken.Addr().String()}}, "--leaf " + taken.Addr().String() + ": port"},
		{"not host:port", []Listener{{"--http", "8080"}}, `--http "8080": not host:port`},
		{"not local", []Listener{{"--cluster-listen", "192.0.2.1:6222"}}, "--cluster-listen 192.0.2.1:6222: cannot listen"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Free(tc.ls...)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Free = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Free = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
