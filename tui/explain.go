package tui

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/vendsync/vendsync/internal/client"
)

// connRefused is a link that answers but refuses the driver.
const connRefused conn = connOffline + 1

// linkOf is what err says about a link: no answer, a refusal of the
// credentials or of the request's rights, or online.
func linkOf(err error) conn {
	var e *client.Error
	switch {
	case err == nil:
		return connOnline
	case errors.Is(err, client.ErrUnreachable):
		return connOffline
	case errors.Is(err, client.ErrAuth), errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden):
		return connRefused
	}
	return connOnline
}

// explain says in plain words which side failed and why: side is "central"
// or "the edge of site X".
func explain(side string, err error) string {
	var e *client.Error
	errors.As(err, &e)
	switch {
	case errors.Is(err, client.ErrUnreachable):
		return fmt.Sprintf("%s is unreachable (no answer: %v)", side, err)
	case errors.Is(err, client.ErrAuth):
		why := "unknown client, wrong secret or revoked"
		if e != nil && e.Status == http.StatusTooManyRequests {
			why = "too many attempts"
		}
		return fmt.Sprintf("%s refused the driver's credentials (%s: %s)", side, why, msgOf(e, err))
	case e != nil && e.Status == http.StatusForbidden:
		return fmt.Sprintf("%s refused: this credential may not do that (%s)", side, e.Message)
	case e != nil && e.Status == http.StatusUnauthorized:
		return fmt.Sprintf("%s refused the driver's token (%s)", side, e.Message)
	}
	return fmt.Sprintf("%s: %v", side, err)
}

func msgOf(e *client.Error, err error) string {
	if e != nil {
		return e.Code + " " + e.Message
	}
	return err.Error()
}

// edgeSide names the current edge for explain.
func (c *common) edgeSide() string {
	if c.site != "" {
		return "the edge of site " + c.site
	}
	return "the edge"
}

// edgeHint says what to do about a refusal by the edge.
func (c *common) edgeHint() string {
	if c.d.route != nil {
		return " — the site's credential in the route file is for another site, revoked, or has not reached this site yet (central sends it when the site is connected)"
	}
	return " — check --credentials (a DRIVER client of this site)"
}
