package client

// SharedEndpoints gives the examples, which are in package client_test,
// the shared test cluster's endpoints.
var SharedEndpoints = func() []string { return shared.ClientURLs() }
