"""Errors whose message is the whole story for the user: the CLI prints them without a traceback."""


class UserFacingError(Exception):
    pass
