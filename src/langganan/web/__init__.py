"""Server-rendered pages shared plumbing (portal and console): browser sessions, CSRF, templates,
the message catalog and HTML error pages."""
