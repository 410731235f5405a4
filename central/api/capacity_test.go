package api_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

// TestPatchProduct_PublishesCapacity: HQ sets a slot's capacity through the
// product config; a capacity not positive or below the par level given
// with it is refused naming the field, and nothing is published.
func TestPatchProduct_PublishesCapacity(t *testing.T) {
	c := newCentral(t)
	tok := c.Token(auth.RoleOps)
	for _, body := range []string{`{"capacity": 0}`, `{"capacity": -3}`, `{"capacity": 5, "parLevel": 8}`} {
		r := c.Do("PATCH", "/machines/M2/products/P1", tok, body)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: status = %d: %s", body, r.Status, r.Body)
		}
		if e := r.Error(t); e.Field != "capacity" {
			t.Fatalf("%s: error = %+v, want field capacity", body, e)
		}
	}
	c.Unpublished("s2", "product.M2.P1")
	r := c.Do("PATCH", "/machines/M2/products/P1", tok, `{"capacity": 18, "parLevel": 12}`)
	if r.Status != http.StatusAccepted {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var a struct{ Published []published }
	r.JSON(t, &a)
	v, _ := c.Published("s2", "product.M2.P1")
	if want := map[string]any{"capacity": 18.0, "parLevel": 12.0}; !reflect.DeepEqual(v, want) {
		t.Fatalf("CONFIG s2.product.M2.P1 = %v, want %v", v, want)
	}
	checkPublished(t, c, a.Published)
}
