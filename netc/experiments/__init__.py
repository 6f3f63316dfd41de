"""The seed's chapter 6-7 experiments as library calls: random search on
validation data, side-by-side comparisons, and the plots that go with them.
The `netc search / compare / plot / activations / filters` commands are thin
wrappers over these modules; matplotlib is needed only by plots.py."""
