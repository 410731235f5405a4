// Package natsusers is what central and a site share about operators' NATS
// users, the NKEY users the standard nats CLI connects with: their roles,
// what each role may do, and the site's file of users.
package natsusers

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/internal/secfile"
)

// Role is what an operator's NATS user (for the standard nats CLI) may
// do; see Permissions.
type Role string

// The operator roles.
const (
	// RoleReadOnly reads stream and KV state and nothing else.
	RoleReadOnly Role = "read-only"
	// RoleOps also manages consumers (durable ones included) and reads
	// messages through them; it still cannot change or delete a stream,
	// purge, delete a message, put a KV value or publish a fleet subject.
	RoleOps Role = "ops"
)

// ParseRole returns the role named s, or an error naming the roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleReadOnly, RoleOps:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want %s or %s", s, RoleOps, RoleReadOnly)
}

// User is an operator's NATS user: an NKEY user whose seed only the
// operator keeps.
type User struct {
	PublicKey string     `json:"publicKey"`
	Role      Role       `json:"role"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
}

// Validate names the first bad field.
func (u User) Validate() error {
	if !nkeys.IsValidPublicUserKey(u.PublicKey) {
		return fmt.Errorf("publicKey %q: not an NKEY user public key", u.PublicKey)
	}
	if _, err := ParseRole(string(u.Role)); err != nil {
		return err
	}
	if len(u.Name) > 128 {
		return fmt.Errorf("name: at most 128 bytes")
	}
	return nil
}

// InboxPrefix is the inbox operator users receive their replies on: the
// nats CLI's default. A server's own clients must use another, so that an
// operator never reads their replies.
const InboxPrefix = "_INBOX"

// Permissions returns what an operator's NATS user of role may do in a
// server's own JetStream API ($JS.API, the CLI's default). streams are the
// streams whose messages it may read (direct and message gets, consumers);
// none means every stream. Every role may see the JetStream account, list
// streams and consumers and read their state; it may never create, update,
// delete or purge a stream, delete a message, or publish anything else
// (a KV put is a publish to $KV.<bucket>.<key>, a fleet event to fleet.>).
//
//   - read-only: the API reads above, direct gets and message gets, and the
//     consumers the CLI makes to read a bucket's keys or a stream's
//     messages ($JS.API.CONSUMER.CREATE with the flow control and next
//     requests they need; the subject cannot tell an ephemeral consumer
//     from a durable one, so a read-only user can leave a durable consumer
//     behind, but cannot delete one).
//   - ops: in addition creates durable consumers by the legacy subject,
//     deletes and pauses consumers, and acknowledges messages.
func Permissions(role Role, streams []string) *server.Permissions {
	if len(streams) == 0 {
		streams = []string{"*"}
	}
	pub := []string{
		"$JS.API.INFO",
		"$JS.API.STREAM.INFO.*",
		"$JS.API.STREAM.LIST",
		"$JS.API.STREAM.NAMES",
		"$JS.API.CONSUMER.INFO.*.*",
		"$JS.API.CONSUMER.LIST.*",
		"$JS.API.CONSUMER.NAMES.*",
	}
	for _, s := range streams {
		pub = append(pub,
			"$JS.API.DIRECT.GET."+s, "$JS.API.DIRECT.GET."+s+".>",
			"$JS.API.STREAM.MSG.GET."+s,
			"$JS.API.CONSUMER.CREATE."+s, "$JS.API.CONSUMER.CREATE."+s+".>",
			"$JS.API.CONSUMER.MSG.NEXT."+s+".*",
			"$JS.FC."+s+".>",
		)
		if role == RoleOps {
			pub = append(pub,
				"$JS.API.CONSUMER.DURABLE.CREATE."+s+".*",
				"$JS.API.CONSUMER.DELETE."+s+".*",
				"$JS.API.CONSUMER.PAUSE."+s+".*",
				"$JS.ACK."+s+".>",
			)
		}
	}
	sort.Strings(pub)
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{InboxPrefix + ".>"}},
	}
}

// SiteFile is the file, in a site's data directory, holding the site's
// operator users (`vendsync edge nats-creds`): public keys and roles, no
// secret. The running edge rereads it, so a user added or revoked there
// takes effect without a restart.
const SiteFile = "nats-users.json"

type fileBody struct {
	Users []User `json:"users"`
}

// ReadFile returns the users in path; none if it does not exist. It returns
// an error for a file it cannot read or parse, or a user that is not valid.
func ReadFile(path string) ([]User, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read nats users: %w", err)
	}
	var f fileBody
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("read nats users %s: %w", path, err)
	}
	for _, u := range f.Users {
		if err := u.Validate(); err != nil {
			return nil, fmt.Errorf("read nats users %s: %w", path, err)
		}
	}
	return f.Users, nil
}

// AddToFile makes a new NKEY user with role and name, records it in path
// (0600, created if needed) and returns its seed, which is kept nowhere
// else, and the user.
func AddToFile(path string, role Role, name string, now time.Time) (seed string, u User, err error) {
	kp, err := nkeys.CreateUser()
	if err != nil {
		return "", User{}, fmt.Errorf("new nats user: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return "", User{}, fmt.Errorf("new nats user: %w", err)
	}
	s, err := kp.Seed()
	if err != nil {
		return "", User{}, fmt.Errorf("new nats user: %w", err)
	}
	u = User{PublicKey: pub, Role: role, Name: strings.TrimSpace(name), CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if err := u.Validate(); err != nil {
		return "", User{}, fmt.Errorf("new nats user: %w", err)
	}
	users, err := ReadFile(path)
	if err != nil {
		return "", User{}, err
	}
	if err := writeFile(path, append(users, u)); err != nil {
		return "", User{}, err
	}
	return string(s), u, nil
}

// RevokeInFile marks the user pub in path revoked and returns it. It
// returns ErrNotFound (wrapped) for a key the file does not hold.
func RevokeInFile(path, pub string, now time.Time) (User, error) {
	users, err := ReadFile(path)
	if err != nil {
		return User{}, err
	}
	for i, u := range users {
		if u.PublicKey != pub {
			continue
		}
		if u.RevokedAt == nil {
			t := now.UTC().Truncate(time.Millisecond)
			users[i].RevokedAt = &t
			if err := writeFile(path, users); err != nil {
				return User{}, err
			}
		}
		return users[i], nil
	}
	return User{}, fmt.Errorf("%w: %q", ErrNotFound, pub)
}

// ErrNotFound is returned for a public key that was never issued.
var ErrNotFound = errors.New("nats user not found")

func writeFile(path string, users []User) error {
	b, err := json.MarshalIndent(fileBody{Users: users}, "", "  ")
	if err != nil {
		return fmt.Errorf("write nats users: %w", err)
	}
	return secfile.Write(path, append(b, '\n'))
}
