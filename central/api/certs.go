package api

import (
	"errors"
	"net/http"

	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/internal/web"
)

// SiteCertificate is the answer of POST /sites/{siteId}/certificate: the
// site's certificate signed by the fleet CA, and the CA certificate the
// site pins for its leaf link (and its clients for its API).
type SiteCertificate struct {
	SiteID      string `json:"siteId"`
	Certificate string `json:"certificate"`
	CA          string `json:"ca"`
}

// siteCertificate is POST /sites/{siteId}/certificate {"csr": PEM}: sign a
// registered, unrevoked site's certificate request with the fleet CA. The
// site's private key never leaves it; the certificate is named after the
// site whatever the request says, for the host names the request lists.
func (s *server) siteCertificate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		CSR *string `json:"csr"`
	}
	if err := web.Decode(w, r, &body, MaxBody); err != nil {
		return err
	}
	if body.CSR == nil {
		return web.Invalid("csr", "csr is required: a PEM CERTIFICATE REQUEST for the site's key")
	}
	if s.cfg.CA == nil {
		return web.Errorf(http.StatusNotImplemented, "NOT_IMPLEMENTED", "", "this node has no fleet CA")
	}
	reg, err := s.registry()
	if err != nil {
		return err
	}
	id := r.PathValue("siteId")
	site, err := reg.Get(r.Context(), id)
	if errors.Is(err, sitereg.ErrNotFound) {
		return web.NotFound("siteId", "site %q is not registered (POST /sites first)", id)
	}
	if err != nil {
		return err
	}
	if site.RevokedAt != nil {
		return web.Errorf(http.StatusConflict, "SITE_REVOKED", "siteId", "site %q is revoked", id)
	}
	cert, err := s.cfg.CA.SignCSR("site "+id, []byte(*body.CSR), s.cfg.Now())
	if err != nil {
		return web.Invalid("csr", "%v", err)
	}
	s.log.Info().Str("site", id).Str("by", who(r)).Msg("site certificate issued")
	web.WriteJSON(w, http.StatusOK, SiteCertificate{SiteID: id, Certificate: string(cert), CA: string(s.cfg.CA.CertPEM)})
	return nil
}
