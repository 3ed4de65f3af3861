"""Learning from gold: labelling candidates (``labels``), fitting the relation model
(``train``) and document-level cross-validation (``cv``). Extraction itself only loads
the trained artifact (``allegiance.extract.model``)."""
