package tui

import "github.com/charmbracelet/bubbles/key"

// keymap holds every key binding of the app. It implements help.KeyMap with
// all bindings; forState narrows it to one screen's.
type keymap struct {
	Up, Down, Toggle, Open, Back, Filter, Help, Quit, Refresh, Pick, Export, Switch key.Binding
	NextField, PrevField, Confirm, Cancel, Discard                                  key.Binding
	Sites, Done, Queue, Resend, Edit, Kit, Notes, Dex, Cash, Suggest                key.Binding
}

func defaultKeys() keymap {
	return keymap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Toggle:    key.NewBinding(key.WithKeys(" ", "x"), key.WithHelp("space", "choose site")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Pick:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pick list")),
		Export:    key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "export csv+txt")),
		Switch:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "route ↔ site")),
		NextField: key.NewBinding(key.WithKeys("tab", "right"), key.WithHelp("tab/→", "next field")),
		PrevField: key.NewBinding(key.WithKeys("shift+tab", "left"), key.WithHelp("shift+tab/←", "previous field")),
		Confirm:   key.NewBinding(key.WithKeys("ctrl+s", "enter"), key.WithHelp("enter", "confirm restock")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Discard:   key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "discard (asks first)")),
		Sites:     key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "stops of the route")),
		Done:      key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "mark stop done/open")),
		Queue:     key.NewBinding(key.WithKeys("Q"), key.WithHelp("Q", "queued and refused work")),
		Resend:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "resend")),
		Edit:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit and resend")),
		Kit:       key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "export kits (labels)")),
		Notes:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "visit notes")),
		Dex:       key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "upload DEX file")),
		Cash:      key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "cash collected")),
		Suggest:   key.NewBinding(key.WithKeys("+"), key.WithHelp("+", "add the suggested units")),
	}
}

// ShortHelp implements help.KeyMap.
func (k keymap) ShortHelp() []key.Binding { return []key.Binding{k.Help, k.Quit} }

// FullHelp implements help.KeyMap.
func (k keymap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Toggle, k.Open, k.Back},
		{k.Filter, k.Refresh, k.Pick, k.Export, k.Switch},
		{k.NextField, k.PrevField, k.Confirm, k.Discard, k.Help, k.Quit},
	}
}

// screenKeys is the help of one screen.
type screenKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (s screenKeys) ShortHelp() []key.Binding  { return s.short }
func (s screenKeys) FullHelp() [][]key.Binding { return s.full }
