package common

// Service names of the ticketsale system.
const (
	ServiceAuth       = "auth"
	ServiceTickets    = "tickets"
	ServiceOrders     = "orders"
	ServiceExpiration = "expiration"
	ServicePayments   = "payments"
	// ServiceGateway is the fake payment gateway (the Stripe stand-in).
	ServiceGateway = "gateway"
)

// GroupOf is a service's queue group ("orders" → "orders-service").
func GroupOf(service string) string { return service + "-service" }

// Listens lists the subjects each service consumes (spec A.3 plus
// order:updated for payments, which only the fixed mode publishes).
var Listens = map[string][]string{
	ServiceTickets:    {SubjectOrderCreated, SubjectOrderCancelled},
	ServiceOrders:     {SubjectTicketCreated, SubjectTicketUpdated, SubjectExpirationComplete, SubjectPaymentCreated},
	ServicePayments:   {SubjectOrderCreated, SubjectOrderCancelled, SubjectOrderUpdated},
	ServiceExpiration: {SubjectOrderCreated},
}

// Publishes lists the subjects each service publishes.
var Publishes = map[string][]string{
	ServiceTickets:    {SubjectTicketCreated, SubjectTicketUpdated},
	ServiceOrders:     {SubjectOrderCreated, SubjectOrderCancelled, SubjectOrderUpdated},
	ServicePayments:   {SubjectPaymentCreated},
	ServiceExpiration: {SubjectExpirationComplete},
}
