"""Reset global state between gallery examples (they all run in one process)."""


def reset_sklearn(gallery_conf, fname):
    """Undo ``sklearn.set_config`` calls (e.g. metadata routing) of the previous example.

    Parameters
    ----------
    gallery_conf : dict
        The sphinx-gallery configuration (unused).
    fname : str
        The example about to run (unused).
    """
    import sklearn

    sklearn.set_config(enable_metadata_routing=False)
