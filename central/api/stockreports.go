package api

import (
	"github.com/vendsync/vendsync/internal/web"
)

// stockReportRoutes are the inventory valuation, margin and shrink reports.
var stockReportRoutes = []Route{}

func (s *server) stockReportHandlers() map[string]web.Handler {
	return map[string]web.Handler{}
}
