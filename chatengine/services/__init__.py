"""Writes of the chat engine, one module per noun. Callers authorize first
(the API layer resolves the caller and checks permissions); services keep the
data model's invariants and queue the events a change causes."""
