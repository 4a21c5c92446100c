"""The demo world: a seeded region of kelompok, KPM and staff."""
