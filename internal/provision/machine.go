package provision

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// Machines is what ProvisionMachines is asked to set up.
type Machines struct {
	// Dir is the site's data directory; the credentials are created in
	// its database.
	Dir string
	// Edge is the running edge's API (http://host:port or host:port);
	// empty registers the machines directly in Dir's database, which the
	// edge must then not be serving. Credentials are the site ADMIN
	// credentials for Edge (default Dir/admin-credentials.json).
	Edge, Credentials string
	// IDs are the machines; City, Building and Payments describe them.
	IDs            []string
	City, Building string
	Payments       []string
	// OutDir, when set, receives each new credential as ID.json (0600)
	// instead of the result carrying the secret.
	OutDir string
	// CA is the CA certificate to pin for an https:// Edge (default the
	// site's own, Dir/tls/ca.pem, when it exists).
	CA string
}

// Validate returns a *FieldError naming the first bad setting.
func (m Machines) Validate() error {
	switch {
	case m.Dir == "":
		return bad("dir", "required: the site's data directory (its credentials are created there)")
	case len(m.IDs) == 0:
		return bad("machine", "required")
	case m.City == "":
		return bad("city", "required")
	}
	for _, id := range m.IDs {
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " /\t\n") {
			return bad("machine", "%q: 1 to 64 characters, no spaces or slashes", id)
		}
	}
	if m.Edge != "" {
		if _, err := client.BaseURL(m.Edge); err != nil {
			return bad("edge", "%v", err)
		}
	}
	return nil
}

// MachineResult is what ProvisionMachines did for one machine.
type MachineResult struct {
	MachineID string
	// Registered is false when the site knew the machine already.
	Registered bool
	// ClientID is its MACHINE client; Existing is true when that client
	// was there before (then nothing was created).
	ClientID string
	Existing bool
	// Secret is the new client's secret when it was not written to a file
	// (shown once, stored only hashed); File is where it was written.
	Secret, File string
}

// ProvisionMachines registers each machine at the site and creates its
// MACHINE credentials (the machine may post events only for itself). A
// registered machine is kept, and one that has live credentials gets no
// new ones. step, if set, is told each machine as it starts. It returns the
// results so far and a *FieldError for a bad setting, or the error that
// stopped it.
func ProvisionMachines(ctx context.Context, m Machines, step func(string)) ([]MachineResult, error) {
	if step == nil {
		step = func(string) {}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(m.Dir); err != nil {
		return nil, bad("dir", "%v", err)
	}
	st, err := store.Open(ctx, m.Dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	register, closeReg, err := registrar(ctx, st, m)
	if err != nil {
		return nil, err
	}
	defer closeReg()
	clients, err := st.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	if m.OutDir != "" {
		if err := os.MkdirAll(m.OutDir, 0o700); err != nil {
			return nil, bad("out-dir", "%v", err)
		}
	}
	var out []MachineResult
	for i, id := range m.IDs {
		step(fmt.Sprintf("machine %d/%d: %s", i+1, len(m.IDs), id))
		r := MachineResult{MachineID: id, Registered: true}
		if err := register(edgeapi.NewMachine{MachineID: id, Location: &edgeapi.Location{City: m.City, Building: m.Building}, PaymentMethods: m.Payments}); err != nil {
			if !machineExists(err) {
				return out, fmt.Errorf("register machine %s: %w", id, err)
			}
			r.Registered = false
		}
		if c, ok := machineClient(clients, id); ok {
			r.ClientID, r.Existing = c, true
			out = append(out, r)
			continue
		}
		c, secret, err := st.AddClient(ctx, auth.RoleMachine, id, "machine "+id)
		if err != nil {
			return out, fmt.Errorf("credentials for %s: %w", id, err)
		}
		r.ClientID = c.ClientID
		if m.OutDir != "" {
			r.File = filepath.Join(m.OutDir, id+".json")
			if err := edge.WriteCredentials(r.File, edge.Credentials{ClientID: c.ClientID, ClientSecret: secret}); err != nil {
				return out, err
			}
		} else {
			r.Secret = secret
		}
		out = append(out, r)
	}
	return out, nil
}

// machineExists reports whether err says the machine is registered, from
// the edge API (--edge) or from the site's own rules.
func machineExists(err error) bool {
	return client.HasCode(err, "MACHINE_EXISTS") || errs.CodeOf(err) == "MACHINE_EXISTS"
}

// machineClient finds a live MACHINE client bound to id.
func machineClient(cs []store.Client, id string) (string, bool) {
	for _, c := range cs {
		if c.Role == auth.RoleMachine && c.MachineID == id && !c.Revoked {
			return c.ClientID, true
		}
	}
	return "", false
}

// registrar registers machines through the edge API (m.Edge) or the site's
// own writer.
func registrar(ctx context.Context, st *store.Store, m Machines) (func(edgeapi.NewMachine) error, func(), error) {
	if m.Edge != "" {
		path := m.Credentials
		if path == "" {
			path = filepath.Join(m.Dir, edge.CredentialsFile)
		}
		creds, err := client.ReadCredentials(path)
		if err != nil {
			return nil, nil, bad("credentials", "%v", err)
		}
		o := client.Options{}
		ca := m.CA
		if ca == "" && exists(filepath.Join(m.Dir, tlsca.TLSDir, tlsca.CAFile)) {
			ca = filepath.Join(m.Dir, tlsca.TLSDir, tlsca.CAFile) // the site's own
		}
		if ca != "" {
			if o.TLS, err = tlsca.ClientConfig(ca); err != nil {
				return nil, nil, bad("ca", "%v", err)
			}
		}
		c, err := client.NewEdge(m.Edge, creds, o)
		if err != nil {
			return nil, nil, bad("edge", "%v", err)
		}
		return func(in edgeapi.NewMachine) error {
			_, err := c.RegisterMachine(ctx, in)
			return err
		}, func() {}, nil
	}
	w, err := ingest.New(st, ingest.DefaultConfig())
	if err != nil {
		return nil, nil, err
	}
	machines := machine.New(w)
	if err := w.Open(ctx); err != nil {
		return nil, nil, err
	}
	return func(in edgeapi.NewMachine) error {
		loc := in.Location
		return machines.Register(ctx, machine.In{MachineID: in.MachineID, Location: &machine.LocationIn{City: loc.City, Building: loc.Building},
			PaymentMethods: in.PaymentMethods}, "provision")
	}, func() { w.Close() }, nil
}
