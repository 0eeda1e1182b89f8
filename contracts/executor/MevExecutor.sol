// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title MevExecutor: atomic cyclic arbitrage over Uniswap V2-style and V3 pools.
/// @notice The owner calls `execute` with a cycle of hops that starts and ends in one token.
///  With `flash` set, the first pool lends the first hop's output before it is paid for (a V2
///  flash swap or the V3 swap callback), the remaining hops run inside that callback, and the
///  first pool is repaid from the cycle's output: no inventory is needed. Without `flash`, the
///  contract pays the first hop from its own balance. Either way the call reverts unless the
///  start token's balance grew by at least `minProfit`.
/// @dev Callbacks are accepted only from the pool this contract is calling at that moment, and
///  only if that pool is the one its (allow-listed) factory reports for its tokens and fee.
///  A hop is one uint256: pool address in bits 0..159, zeroForOne in bit 160, kind in bits
///  168..175 (0 = V2-style, 1 = V3), and for V2 hops the fee numerator out of 1000 in bits
///  176..191 (997 for Uniswap V2 and SushiSwap).

interface IERC20 {
    function balanceOf(address) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IUniswapV2PairLike {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function factory() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

interface IUniswapV2FactoryLike {
    function getPair(address, address) external view returns (address);
}

interface IUniswapV3PoolLike {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function fee() external view returns (uint24);
    function factory() external view returns (address);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96,
                  bytes calldata data) external returns (int256, int256);
}

interface IUniswapV3FactoryLike {
    function getPool(address, address, uint24) external view returns (address);
}

contract MevExecutor {
    uint160 private constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 private constant MAX_SQRT_RATIO_MINUS_ONE = 1461446703485210103287273052203988822378723970341;

    address public immutable owner;
    mapping(address => bool) public v2Factory;
    mapping(address => bool) public v3Factory;

    /// The pool whose callback is expected right now; zero outside a swap.
    address private expectedCaller;

    event Executed(address indexed token, uint256 amountIn, uint256 profit, bool flash);
    event FactoryAllowed(address indexed factory, bool v3, bool allowed);

    error NotOwner();
    error UnexpectedCallback(address caller);
    error NotAGenuinePool(address pool);
    error InsufficientProfit(uint256 profit, uint256 minProfit);
    error BadRoute(string why);
    error TransferFailed(address token);

    constructor(address[] memory v2Factories, address[] memory v3Factories) {
        owner = msg.sender;
        for (uint256 i = 0; i < v2Factories.length; i++) {
            v2Factory[v2Factories[i]] = true;
            emit FactoryAllowed(v2Factories[i], false, true);
        }
        for (uint256 i = 0; i < v3Factories.length; i++) {
            v3Factory[v3Factories[i]] = true;
            emit FactoryAllowed(v3Factories[i], true, true);
        }
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    receive() external payable {}

    function setFactory(address factory, bool v3, bool allowed) external onlyOwner {
        if (v3) v3Factory[factory] = allowed;
        else v2Factory[factory] = allowed;
        emit FactoryAllowed(factory, v3, allowed);
    }

    function withdrawToken(address token, address to, uint256 amount) external onlyOwner {
        _transfer(token, to, amount);
    }

    function withdrawEth(address payable to, uint256 amount) external onlyOwner {
        (bool ok, ) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(address(0));
    }

    /// @param startToken the token the cycle starts and ends in (profit is measured in it)
    /// @param hops the cycle, encoded as described in the contract's notes
    /// @param amountIn input of the first hop
    /// @param minProfit the call reverts unless the start token's balance grows by this much
    /// @param flash borrow the first hop from its pool instead of paying it up front
    /// @return profit how much the start token's balance grew
    /// @return gasUsed the gas this call spent between its first statement and its last (swaps,
    ///  callbacks, the event), as `gasleft()` counts it: a simulation with eth_call returns it
    ///  beside the profit, so the bot sets the gas limit without a separate eth_estimateGas
    ///  (adding the intrinsic cost, this function's entry and exit, and its margin)
    function execute(address startToken, uint256[] calldata hops, uint256 amountIn, uint256 minProfit, bool flash)
        external
        onlyOwner
        returns (uint256 profit, uint256 gasUsed)
    {
        uint256 gasAtEntry = gasleft();
        if (hops.length < 2) revert BadRoute("a cycle needs at least two hops");
        if (amountIn == 0) revert BadRoute("zero input");
        uint256 before = IERC20(startToken).balanceOf(address(this));
        if (flash) {
            _swap(hops[0], amountIn, abi.encode(startToken, hops, amountIn));
        } else {
            uint256 amount = amountIn;
            for (uint256 i = 0; i < hops.length; i++) {
                amount = _swap(hops[i], amount, "");
            }
        }
        uint256 afterwards = IERC20(startToken).balanceOf(address(this));
        profit = afterwards > before ? afterwards - before : 0;
        if (afterwards < before + minProfit) revert InsufficientProfit(profit, minProfit);
        emit Executed(startToken, amountIn, profit, flash);
        gasUsed = gasAtEntry - gasleft();
    }

    /// Swap `amountIn` through one hop to this contract; returns the output amount.
    /// With `flashData`, the input is not paid up front: the pool's callback runs the rest of the
    /// cycle and then pays it.
    function _swap(uint256 hop, uint256 amountIn, bytes memory flashData) private returns (uint256) {
        uint256 kind = (hop >> 168) & 0xff;
        if (kind == 0) return _swapV2(hop, amountIn, flashData);
        if (kind == 1) return _swapV3(hop, amountIn, flashData);
        revert BadRoute("unknown hop kind");
    }

    function _swapV2(uint256 hop, uint256 amountIn, bytes memory flashData) private returns (uint256 amountOut) {
        IUniswapV2PairLike pair = IUniswapV2PairLike(address(uint160(hop)));
        bool zeroForOne = (hop >> 160) & 1 == 1;
        amountOut = _v2AmountOut(pair, zeroForOne, (hop >> 176) & 0xffff, amountIn);
        if (flashData.length == 0) {
            _transfer(zeroForOne ? pair.token0() : pair.token1(), address(pair), amountIn);
        }
        expectedCaller = address(pair);
        pair.swap(zeroForOne ? 0 : amountOut, zeroForOne ? amountOut : 0, address(this), flashData);
        expectedCaller = address(0);
    }

    function _v2AmountOut(IUniswapV2PairLike pair, bool zeroForOne, uint256 feeNumerator, uint256 amountIn)
        private
        view
        returns (uint256)
    {
        if (feeNumerator == 0 || feeNumerator > 1000) revert BadRoute("V2 fee numerator out of range");
        (uint112 r0, uint112 r1, ) = pair.getReserves();
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 withFee = amountIn * feeNumerator;
        return (withFee * reserveOut) / (reserveIn * 1000 + withFee);
    }

    function _swapV3(uint256 hop, uint256 amountIn, bytes memory flashData) private returns (uint256) {
        address pool = address(uint160(hop));
        bool zeroForOne = (hop >> 160) & 1 == 1;
        expectedCaller = pool;
        (int256 d0, int256 d1) = IUniswapV3PoolLike(pool).swap(
            address(this), zeroForOne, int256(amountIn),
            zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE,
            flashData.length == 0 ? abi.encode(uint256(0)) : flashData
        );
        expectedCaller = address(0);
        return uint256(-(zeroForOne ? d1 : d0));
    }

    /// V2 flash swap: the first hop's output has arrived; run the rest of the cycle, repay.
    function uniswapV2Call(address sender, uint256 amount0, uint256 amount1, bytes calldata data) external {
        _checkCaller(false);
        if (sender != address(this)) revert UnexpectedCallback(sender);
        (address startToken, uint256[] memory hops, uint256 amountIn) = abi.decode(data, (address, uint256[], uint256));
        uint256 amount = amount0 > 0 ? amount0 : amount1;
        for (uint256 i = 1; i < hops.length; i++) {
            amount = _swap(hops[i], amount, "");
        }
        _transfer(startToken, msg.sender, amountIn);
    }

    /// V3 swap callback: pay what the pool is owed; for the flash hop, run the rest first.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata data) external {
        IUniswapV3PoolLike pool = _checkCaller(true);
        (address tokenOwed, uint256 owed) = amount0Delta > 0
            ? (pool.token0(), uint256(amount0Delta))
            : (pool.token1(), uint256(amount1Delta));
        if (data.length > 32) {
            (, uint256[] memory hops, ) = abi.decode(data, (address, uint256[], uint256));
            uint256 amount = uint256(-(amount0Delta > 0 ? amount1Delta : amount0Delta));
            for (uint256 i = 1; i < hops.length; i++) {
                amount = _swap(hops[i], amount, "");
            }
        }
        _transfer(tokenOwed, msg.sender, owed);
    }

    /// The caller must be the pool we are calling, and a genuine pool of an allowed factory.
    function _checkCaller(bool v3) private view returns (IUniswapV3PoolLike) {
        address caller = msg.sender;
        if (caller != expectedCaller || caller == address(0)) revert UnexpectedCallback(caller);
        if (v3) {
            IUniswapV3PoolLike pool = IUniswapV3PoolLike(caller);
            address factory = pool.factory();
            if (!v3Factory[factory] ||
                IUniswapV3FactoryLike(factory).getPool(pool.token0(), pool.token1(), pool.fee()) != caller) {
                revert NotAGenuinePool(caller);
            }
            return pool;
        }
        IUniswapV2PairLike pair = IUniswapV2PairLike(caller);
        address v2factory = pair.factory();
        if (!v2Factory[v2factory] || IUniswapV2FactoryLike(v2factory).getPair(pair.token0(), pair.token1()) != caller) {
            revert NotAGenuinePool(caller);
        }
        return IUniswapV3PoolLike(address(0));
    }

    function _transfer(address token, address to, uint256 amount) private {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSelector(IERC20.transfer.selector, to, amount));
        if (!ok || (ret.length != 0 && !abi.decode(ret, (bool)))) revert TransferFailed(token);
    }
}
