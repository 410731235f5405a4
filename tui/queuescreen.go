package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/vendsync/vendsync/internal/edgeapi"
)

// queueScreen lists the queued and refused work with each refusal's reason
// in full; a refused entry can be resent, edited and resent, or discarded
// after a confirmation.
type queueScreen struct {
	c   *common
	cur listCursor
	// confirm is the movement id a discard waits on (y/n).
	confirm string
}

// editRefusedMsg opens a refused restock in the form.
type editRefusedMsg struct{ p Pending }

// resendMsg delivers the pending work of the current site now.
type resendMsg struct{}

func (s *queueScreen) update(msg tea.KeyMsg) tea.Cmd {
	k, c := s.c.keys, s.c
	items := c.d.queue.Items()
	if s.confirm != "" {
		id := s.confirm
		s.confirm = ""
		if msg.String() != "y" && msg.String() != "Y" {
			c.setStatus("kept %s", id)
			return nil
		}
		if err := c.d.queue.Discard(id); err != nil {
			c.setErr(err)
			return nil
		}
		c.d.log.Warn().Str("movement", id).Msg("refused restock discarded by the driver")
		c.setStatus("discarded %s", id)
		return nil
	}
	if s.cur.move(k, msg, len(items)) {
		return nil
	}
	cur := s.cur.at(len(items))
	if cur < 0 {
		return nil
	}
	p := items[cur]
	switch {
	case key.Matches(msg, k.Resend):
		if p.Error == "" {
			return send(resendMsg{})
		}
		if err := c.d.queue.Retry(p.Restock.MovementID); err != nil {
			c.setErr(err)
			return nil
		}
		c.d.log.Info().Str("movement", p.Restock.MovementID).Str("machine", p.Machine).Msg("refused restock resent by the driver")
		c.setStatus("resending %s unchanged", p.Restock.MovementID)
		return send(resendMsg{})
	case key.Matches(msg, k.Edit):
		if p.Error == "" {
			c.setStatus("%s is not refused: it is sent as it is when its edge answers", p.Restock.MovementID)
			return nil
		}
		return send(editRefusedMsg{p})
	case key.Matches(msg, k.Discard):
		s.confirm = p.Restock.MovementID
		c.setStatus("discard %s for %s (%s)? the units it records are lost — y/n", p.Restock.MovementID, p.Machine, lineSummary(p.Restock.Items))
	}
	return nil
}

// lineSummary is a restock's lines in words: "P1 +5, P2 count 3".
func lineSummary(items []edgeapi.RestockItem) string {
	var out []string
	for _, it := range items {
		var parts []string
		if it.Added != 0 {
			parts = append(parts, fmt.Sprintf("+%d", it.Added))
		}
		if it.RemovedExpired != 0 {
			parts = append(parts, fmt.Sprintf("-%d expired", it.RemovedExpired))
		}
		if it.RemovedDamaged != 0 {
			parts = append(parts, fmt.Sprintf("-%d damaged", it.RemovedDamaged))
		}
		if it.CountedQuantity != nil {
			parts = append(parts, fmt.Sprintf("count %d", *it.CountedQuantity))
		}
		if it.ExpiryDate != "" {
			parts = append(parts, "exp "+it.ExpiryDate)
		}
		out = append(out, it.ProductID+" "+strings.Join(parts, " "))
	}
	return strings.Join(out, ", ")
}

func (s *queueScreen) view() (header, rows []string, selected int, footer []string) {
	items := s.c.d.queue.Items()
	if len(items) == 0 {
		return []string{"nothing queued: every visit recorded so far reached its edge"}, nil, -1, nil
	}
	header = []string{fmt.Sprintf("   %-8s %-12s %-10s %5s %4s  %-9s %s", "SITE", "MACHINE", "MOVEMENT", "AT", "TRY", "STATE", "LINES")}
	for _, p := range items {
		st := "pending"
		switch {
		case p.Error != "":
			st = "REFUSED"
		case !p.forSite(s.c.site):
			st = "other site"
		}
		id := p.Restock.MovementID
		if len(id) > 10 {
			id = "…" + id[len(id)-9:]
		}
		rows = append(rows, fmt.Sprintf("   %-8s %-12s %-10s %5s %4d  %-9s %s", p.Restock.SiteID, p.Machine, id,
			p.QueuedAt.In(s.c.d.loc).Format("15:04"), p.Attempts, st, lineSummary(p.Restock.Items)))
	}
	cur := s.cur.at(len(items))
	if cur >= 0 && items[cur].Error != "" {
		// The reason in full, wrapped to the screen.
		footer = append(footer, "refused by the edge:")
		for _, l := range strings.Split(ansi.Wordwrap(items[cur].Error, 76, " "), "\n") {
			footer = append(footer, "  "+l)
		}
		footer = append(footer, "e edit and resend · s resend unchanged · D discard (asks first)")
	}
	return header, rows, cur, footer
}

func (s *queueScreen) help() screenKeys {
	k := s.c.keys
	return screenKeys{
		short: []key.Binding{k.Edit, k.Resend, k.Discard, k.Back, k.Help},
		full:  [][]key.Binding{{k.Up, k.Down, k.Edit, k.Resend, k.Discard}, {k.Back, k.Help, k.Quit}},
	}
}
