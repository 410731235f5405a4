package tui

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/sync/wire"
)

// The inventory screen's prompts: a line of text for the visit's notes,
// a DEX file's path, or the cash counted.
const (
	promptNotes = "notes"
	promptDEX   = "DEX file"
	promptCash  = "cash counted"
)

// visitWorkMsg queues a visit record, a cash collection or a DEX upload.
type visitWorkMsg struct{ r Restock }

// markDid adds the visit actions a restock's lines amount to.
func markDid(did map[string]bool, items []edgeapi.RestockItem) map[string]bool {
	if did == nil {
		did = map[string]bool{}
	}
	for _, it := range items {
		if it.Added != 0 {
			did[edgeapi.ActionRestock] = true
		}
		if it.RemovedExpired != 0 {
			did[edgeapi.ActionExpiryRemoval] = true
		}
		if it.CountedQuantity != nil {
			did[edgeapi.ActionCount] = true
		}
	}
	return did
}

func (s *inventoryScreen) prompting() bool { return s.prompt != "" }

// visitKey handles the visit's keys: n notes, X a DEX file, C cash counted.
func (s *inventoryScreen) visitKey(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	switch {
	case key.Matches(msg, k.Notes):
		return s.ask(promptNotes, s.notes)
	case key.Matches(msg, k.Dex):
		return s.ask(promptDEX, "")
	case key.Matches(msg, k.Cash):
		return s.ask(promptCash, "")
	}
	return nil
}

func (s *inventoryScreen) ask(what, value string) tea.Cmd {
	ti := textinput.New()
	ti.Prompt = what + ": "
	ti.SetValue(value)
	ti.CharLimit = 500
	s.prompt, s.input = what, ti
	s.c.setStatus("%s: type, enter to keep, esc to cancel", what)
	return s.input.Focus()
}

// promptKey handles a key while a prompt is open.
func (s *inventoryScreen) promptKey(msg tea.KeyMsg) tea.Cmd {
	c := s.c
	switch msg.String() {
	case "esc":
		s.prompt = ""
		c.setStatus("cancelled")
		return nil
	case "enter":
	default:
		var cmd tea.Cmd
		s.input, cmd = s.input.Update(msg)
		return cmd
	}
	what, v := s.prompt, strings.TrimSpace(s.input.Value())
	s.prompt = ""
	switch what {
	case promptNotes:
		s.notes = v
		c.setStatus("notes kept: they go with the visit when you leave %s", s.machine)
	case promptDEX:
		if v == "" {
			return nil
		}
		raw, err := os.ReadFile(v)
		if err != nil {
			c.setErr(fmt.Errorf("DEX file: %w", err))
			return nil
		}
		if len(raw) == 0 || len(raw) > 1<<20 {
			c.setErr(fmt.Errorf("DEX file %s: %d bytes; a DEX audit is between 1 byte and 1 MiB", v, len(raw)))
			return nil
		}
		s.did = markDid(s.did, nil)
		s.did[edgeapi.ActionDEXRead] = true
		return send(visitWorkMsg{Restock{MachineID: s.machine, Restock: edgeapi.Restock{MovementID: c.d.newID()}, DEX: raw}})
	case promptCash:
		amt, err := wire.ParseMoney(v)
		if err != nil || amt < 0 {
			c.setErr(fmt.Errorf("cash counted %q: give an amount such as 42.50", v))
			return nil
		}
		s.did = markDid(s.did, nil)
		s.did[edgeapi.ActionCashCollected] = true
		id := c.d.newID()
		in := edgeapi.CashIn{CollectionID: id, CollectedAt: c.d.now().UTC().Format(time.RFC3339), Amount: amt, Driver: c.driver(), Notes: s.notes}
		return send(visitWorkMsg{Restock{MachineID: s.machine, Restock: edgeapi.Restock{MovementID: id}, Cash: &in}})
	}
	return nil
}

// driver is the driver's name on visits and collections.
func (c *common) driver() string {
	if c.d.route != nil && c.d.route.Driver != "" {
		return c.d.route.Driver
	}
	return "driver"
}

// leaveMachine is the visit record of the machine the driver is leaving:
// arrived when it was opened, left now, with what was done and the notes.
// A machine only looked at (nothing done, no notes) makes none.
func (m *model) leaveMachine() tea.Cmd {
	s, c := m.inventory, m.c
	if s == nil || s.machine == "" || s.arrived.IsZero() || s.left || (len(s.did) == 0 && s.notes == "") {
		return nil
	}
	s.left = true
	actions := []string{}
	for a := range s.did {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	id := c.d.newID()
	v := edgeapi.VisitIn{VisitID: id, ArrivedAt: s.arrived.UTC().Format(time.RFC3339), LeftAt: c.d.now().UTC().Format(time.RFC3339),
		Driver: c.driver(), Notes: s.notes, Actions: actions}
	return send(visitWorkMsg{Restock{MachineID: s.machine, Restock: edgeapi.Restock{MovementID: id}, Visit: &v}})
}
