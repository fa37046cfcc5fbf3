"""identity's domain: pure rules, no framework imports."""
