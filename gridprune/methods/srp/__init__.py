"""`srp`: selective regularisation pruning of FFN neurons and per-head attention dimensions (in progress:
the gates and the groups' importance; the method is not registered yet)."""
