"""Small widgets and helpers the screens share."""
