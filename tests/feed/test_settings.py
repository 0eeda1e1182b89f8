"""[monitor] settings: signer addresses are checked when the config loads."""

from __future__ import annotations

import pytest

from mevbot.config import ConfigError, load_config


def test_a_malformed_verify_signer_is_reported_at_its_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[monitor]\nverify_signers = ["0xDaa526086787d9DEbE1D7F3FFdb1fE50cf8687F4", "0x12"]\n')
    with pytest.raises(ConfigError, match=r"monitor\.verify_signers\.1 = '0x12'"):
        load_config(path, environ={})


def test_well_formed_verify_signers_load(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[monitor]\nverify_signers = ["0xDaa526086787d9DEbE1D7F3FFdb1fE50cf8687F4"]\n')
    assert load_config(path, environ={}).monitor.verify_signers == ["0xDaa526086787d9DEbE1D7F3FFdb1fE50cf8687F4"]
