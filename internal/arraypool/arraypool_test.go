package arraypool

import "testing"

// An array given back comes back empty and cleared, with its room; a nil
// or an over-long one is not kept.
func TestPool_GivesBackClearedArrays(t *testing.T) {
	var p Pool[string]
	if a := p.Get(); a != nil {
		t.Fatalf("an empty pool gave %v, want nil", a)
	}
	a := append(make([]string, 0, 8), "x", "y")
	p.Put(a)
	if a[0] != "" || a[1] != "" {
		t.Fatalf("Put left %q in the array, want it cleared", a[:2])
	}
	// sync.Pool may drop what it holds at any collection: retry a few times.
	for range 100 {
		if b := p.Get(); b != nil {
			if len(b) != 0 || cap(b) != 8 {
				t.Fatalf("Get gave len %d cap %d, want an empty array of room 8", len(b), cap(b))
			}
			break
		}
		p.Put(append(make([]string, 0, 8), "z"))
	}
	p.Put(make([]string, 0, Max+1))
	p.Put(nil)
	for range 10 {
		if b := p.Get(); b != nil && cap(b) > Max {
			t.Fatalf("an array of room %d was kept, past Max", cap(b))
		}
	}
}

// A pool with a Limit keeps arrays up to it, past Max, and none longer.
func TestPool_LimitSetsTheLongestKept(t *testing.T) {
	p := Pool[byte]{Limit: 1 << 20}
	for range 100 {
		p.Put(make([]byte, 10, 1<<20+1))
		if b := p.Get(); b != nil {
			t.Fatalf("an array of room %d was kept, past the limit %d", cap(b), p.Limit)
		}
	}
	for range 100 {
		p.Put(make([]byte, 10, Max*4))
		if b := p.Get(); b != nil {
			if len(b) != 0 || cap(b) != Max*4 {
				t.Fatalf("Get gave len %d cap %d, want an empty array of room %d", len(b), cap(b), Max*4)
			}
			return
		}
	}
	t.Fatal("an array within the limit was never given back")
}
