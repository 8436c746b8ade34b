"""Framework integrations: one module per framework, each importing its framework only itself.

    from localtrack.integrations.xgboost import LocaltrackCallback
    xgb.train(params, dtrain, evals=[(dvalid, "valid")], callbacks=[LocaltrackCallback(project="demo")])

Every integration takes either an existing run (``run=``) or ``init()``'s keyword arguments;
a run it created is finished by it, a run it was handed is left running for its owner.
"""
