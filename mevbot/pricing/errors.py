"""The few ways pricing can fail.

A simulated swap fails either because the contract itself would revert (:class:`SolidityRevert`,
carrying the contract's own revert string so a mismatch against chain is easy to read), or
because the in-memory pool state does not cover the price range the swap walks into
(:class:`MissingTickData`), which is not an error of the swap but a request to the pool-state
layer: fetch that bitmap word or tick, then simulate again.
"""

from __future__ import annotations


class PricingError(Exception):
    """Base class for everything this package raises."""


class SolidityRevert(PricingError):
    """The Solidity code being mirrored would revert on these inputs.

    ``function`` names the contract function (``"SqrtPriceMath.getNextSqrtPriceFromInput"``),
    ``reason`` is its revert string exactly as on chain (``""`` where the contract reverts
    without one: a bare ``require``, an overflow, a division by zero), ``detail`` says which
    value broke which bound.
    """

    def __init__(self, function: str, reason: str, detail: str) -> None:
        self.function = function
        self.reason = reason
        self.detail = detail
        shown = f"'{reason}'" if reason else "without a reason string"
        super().__init__(f"{function} reverts {shown}: {detail}")


class MissingTickData(PricingError):
    """A simulated V3 swap needs a tick-bitmap word or a tick's liquidityNet we do not hold.

    Exactly one of ``word`` (a ``tickBitmap`` word position, the int16 key the pool uses) and
    ``tick`` (an initialised tick whose ``ticks(tick).liquidityNet`` is unknown) is set. The
    caller fetches it, extends the pool state and simulates again; nothing was half-applied.
    ``pool`` is the address of the pool that lacks it: pricing works on a state and does not
    know it, so the caller that does (the scanner, per hop) fills it in before passing it on.
    """

    def __init__(self, *, word: int | None = None, tick: int | None = None, pool: str | None = None) -> None:
        if (word is None) == (tick is None):
            raise ValueError("MissingTickData needs exactly one of word= or tick=")
        self.word = word
        self.tick = tick
        self.pool = pool
        if word is not None:
            what = f"tickBitmap word {word} is outside the known bitmap words"
        else:
            what = f"tick {tick} is initialised in the bitmap but its liquidityNet is unknown"
        super().__init__(f"{what}; fetch it from the pool and simulate again")


class InvalidPoolState(PricingError):
    """A pool state or swap argument is outside what the contract can ever hold.

    Raised when building a state from external data (wrong ranges, misaligned ticks), before
    any math runs; the message names the field, the value and the allowed range.
    """
