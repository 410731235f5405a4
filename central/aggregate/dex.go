package aggregate

import (
	"encoding/json"

	"github.com/vendsync/vendsync/sync/envelope"
)

// decodeDEX decodes the facts of DEX audits and driver visits:
// *envelope.Reconciliation, *envelope.Visit, *envelope.CashCollection;
// nil for another kind or data without its key.
func decodeDEX(kind envelope.Kind, data json.RawMessage) any {
	switch kind {
	case envelope.KindReconciliation:
		var d envelope.Reconciliation
		if json.Unmarshal(data, &d) != nil || d.ID == 0 || d.MachineID == "" {
			return nil
		}
		return &d
	case envelope.KindVisit:
		var d envelope.Visit
		if json.Unmarshal(data, &d) != nil || d.VisitID == "" || d.MachineID == "" {
			return nil
		}
		return &d
	case envelope.KindCash:
		var d envelope.CashCollection
		if json.Unmarshal(data, &d) != nil || d.CollectionID == "" || d.MachineID == "" {
			return nil
		}
		return &d
	}
	return decodePayment(kind, data)
}
