package migrations_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// TestHeaderVersion: Apply leaves the schema version in the file header,
// where a start reads it without opening the database; files without one
// read as 0.
func TestHeaderVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "site.db")
	ms, err := migrations.Load(migrations.Edge)
	if err != nil {
		t.Fatal(err)
	}
	newest := ms[len(ms)-1].Version
	for _, want := range []int{15, newest} {
		schema := migrations.Edge
		if want != newest {
			schema = upTo(t, migrations.Edge, want)
		}
		db, err := sqlite.Open(ctx, path, schema, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := migrations.HeaderVersion(path); err != nil || got != want {
			t.Fatalf("header version after migrating to %d: %d, %v", want, got, err)
		}
	}
	if _, err := migrations.HeaderVersion(filepath.Join(dir, "none.db")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v, want not-exist", err)
	}
	other := filepath.Join(dir, "other.db")
	if err := os.WriteFile(other, make([]byte, 200), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := migrations.HeaderVersion(other); err != nil || got != 0 {
		t.Fatalf("not SQLite: %d, %v, want 0", got, err)
	}
}
