package backup_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vendsync/vendsync/edge/backup"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/dirlock"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
)

// newSite makes a site database in a new directory with n telemetry rows.
func newSite(t *testing.T, id string, n int) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Init(t.Context(), dir, store.SiteInit{ID: id, Timezone: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.DB.W.ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < ?)
		INSERT INTO telemetry_events (machine_id, temperature, event_time, received_at) SELECT 'M1', i, i, i FROM n`, n); err != nil {
		t.Fatal(err)
	}
	return dir
}

func count(t *testing.T, path string) int {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path, migrations.Edge, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.R.QueryRow(`SELECT count(*) FROM telemetry_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFile_CopyIsConsistentAndPrivate(t *testing.T) {
	dir := newSite(t, "s1", 1000)
	out := filepath.Join(t.TempDir(), "copy.db")
	if err := backup.File(t.Context(), dir, out); err != nil {
		t.Fatal(err)
	}
	site, err := backup.Verify(t.Context(), out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := site, "s1"; got != want {
		t.Fatalf("site = %q, want %q", got, want)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("backup mode %04o, want 0600", got)
	}
	if got, want := count(t, out), 1000; got != want {
		t.Fatalf("rows in copy = %d, want %d", got, want)
	}
}

func TestRunner_KeepsGenerations(t *testing.T) {
	dir := newSite(t, "s1", 10)
	bdir := filepath.Join(t.TempDir(), "backups")
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r, err := backup.NewRunner(dir, backup.Config{Dir: bdir, Every: time.Hour, Keep: 3, Now: func() time.Time { clock = clock.Add(time.Minute); return clock }})
	if err != nil {
		t.Fatal(err)
	}
	var last string
	for range 5 {
		if last, err = r.Backup(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	// A temporary file of a backup killed mid-way is not a generation.
	if err := os.WriteFile(filepath.Join(bdir, ".site-x.db.tmp"), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	gens, err := backup.Generations(bdir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(gens), 3; got != want {
		t.Fatalf("generations = %v, want %d", gens, want)
	}
	if got, want := gens[len(gens)-1], last; got != want {
		t.Fatalf("newest generation %s, want %s", got, want)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.Run(ctx); err != nil { // closes the runner
		t.Fatal(err)
	}
}

func TestRestore_RefusesLockedCorruptOrForeign(t *testing.T) {
	dir := newSite(t, "s1", 10)
	good := filepath.Join(t.TempDir(), "good.db")
	if err := backup.File(t.Context(), dir, good); err != nil {
		t.Fatal(err)
	}
	lock, err := dirlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(t.Context(), dir, good, time.Now()); !errors.Is(err, dirlock.ErrLocked) {
		t.Fatalf("restore into a locked dir: %v, want ErrLocked", err)
	}
	lock.Release()

	torn := filepath.Join(t.TempDir(), "torn.db")
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(torn, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(t.Context(), dir, torn, time.Now()); !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("restore of a torn file: %v, want ErrCorrupt", err)
	}

	other := filepath.Join(t.TempDir(), "other.db")
	if err := backup.File(t.Context(), newSite(t, "s2", 1), other); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(t.Context(), dir, other, time.Now()); err == nil || !strings.Contains(err.Error(), "s2") {
		t.Fatalf("restore of another site's backup: %v, want refused", err)
	}
	if got, want := count(t, filepath.Join(dir, store.DBFile)), 10; got != want {
		t.Fatalf("rows after refused restores = %d, want %d", got, want)
	}
}

func TestRestore_KeepsReplacedDatabase(t *testing.T) {
	dir := newSite(t, "s1", 10)
	old := filepath.Join(t.TempDir(), "old.db")
	if err := backup.File(t.Context(), dir, old); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB.W.Exec(`INSERT INTO telemetry_events (machine_id, event_time, received_at) VALUES ('M1', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// An intake log (--fsync=log) belongs to the database it was written for.
	intake := ingest.IntakePath(filepath.Join(dir, store.DBFile))
	if err := os.WriteFile(intake, []byte("records of the replaced database"), 0o600); err != nil {
		t.Fatal(err)
	}
	aside, err := backup.Restore(t.Context(), dir, old, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, filepath.Join(dir, store.DBFile)), 10; got != want {
		t.Fatalf("rows after restore = %d, want %d", got, want)
	}
	if got, want := count(t, aside), 11; got != want {
		t.Fatalf("rows in the replaced database %s = %d, want %d", aside, got, want)
	}
	if _, err := os.Stat(intake); !os.IsNotExist(err) {
		t.Fatalf("the replaced database's intake log is still next to the restored one: %v", err)
	}
	if b, err := os.ReadFile(aside + "-intake"); err != nil || string(b) != "records of the replaced database" {
		t.Fatalf("the intake log was not kept aside: %q, %v", b, err)
	}
}

func TestBeforeMigrate_CopiesAnOlderSchemaOnce(t *testing.T) {
	ms, err := migrations.Load(migrations.Edge)
	if err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{}
	for _, m := range ms[:len(ms)-1] {
		older[m.Name] = &fstest.MapFile{Data: []byte(m.SQL)}
	}
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, store.DBFile), older, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	bdir := filepath.Join(t.TempDir(), "b")
	got, err := backup.BeforeMigrate(t.Context(), dir, migrations.Edge, bdir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bdir, backup.PreMigrateName(ms[len(ms)-1].Version)); got != want {
		t.Fatalf("pre-migration copy %q, want %q", got, want)
	}
	// Killed before migrating, started again: the copy is kept, not redone.
	if again, err := backup.BeforeMigrate(t.Context(), dir, migrations.Edge, bdir); err != nil || again != "" {
		t.Fatalf("second BeforeMigrate = %q, %v; want nothing done", again, err)
	}
	// Migrated: nothing to copy.
	st, err := store.Open(t.Context(), dir)
	if !errors.Is(err, store.ErrNotInitialized) && err != nil {
		t.Fatal(err)
	}
	if st != nil {
		st.Close()
	}
	if _, err := os.Stat(got); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(got); err != nil {
		t.Fatal(err)
	}
	if again, err := backup.BeforeMigrate(t.Context(), dir, migrations.Edge, bdir); err != nil || again != "" {
		t.Fatalf("BeforeMigrate of a current database = %q, %v; want nothing done", again, err)
	}
	if _, err := os.Stat(got); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copy of a current database written: %v", err)
	}
}
