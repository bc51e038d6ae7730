"""Great Expectations suites: validity of feeds (quarantine) and attainment of targets (breaches)."""
