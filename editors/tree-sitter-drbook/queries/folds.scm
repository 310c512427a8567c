; Blocks and multi-line strings fold.
[(block) (triple_string) (list) (arguments)] @fold
