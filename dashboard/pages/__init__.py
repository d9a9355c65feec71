"""One module per `/admin` route; importing this package registers them all."""
